# One Cloud Functions (2nd gen) function per target, from one source archive, each with its
# own service account, and callable only by its one caller: the gateway's account for the
# public three, Cloud Tasks' for the order-worker, Cloud Scheduler's for the sweeper.

locals {
  internal_names = [for name, f in var.functions : name if f.invoker != "gateway"]

  # Settings every function reads (functions/src/lib/config.ts); secrets come separately.
  environment = merge({
    NODE_ENV              = "production"
    AUTH_MODE             = "gateway"
    JWT_ISSUER            = var.jwt.issuer
    JWT_AUDIENCE          = var.jwt.audience
    JWKS_URL              = "${var.jwt.issuer}/.well-known/jwks.json"
    ADMIN_EMAILS          = join(",", var.admin_emails)
    REDIS_TLS_CA          = var.redis_ca_certificate
    TASK_QUEUE            = "cloud-tasks"
    TASKS_PROJECT         = var.project_id
    TASKS_LOCATION        = var.region
    TASKS_QUEUE           = var.queue.name
    TASKS_SERVICE_ACCOUNT = var.queue.invoker_email
  }, var.settings)

  secret_environment = {
    DATABASE_URL = var.secrets.database_url
    REDIS_URL    = var.secrets.redis_url
  }
}

resource "google_storage_bucket" "source" {
  project                     = var.project_id
  name                        = "${var.project_id}-${var.name}-functions-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
}

data "archive_file" "source" {
  type        = "zip"
  source_dir  = var.source_dir
  output_path = "${path.root}/.terraform/functions-source.zip"
  excludes    = ["node_modules", "dist"]
}

resource "google_storage_bucket_object" "source" {
  name   = "functions-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

resource "google_service_account" "function" {
  for_each     = var.functions
  project      = var.project_id
  account_id   = "${substr(var.name, 0, 14)}-${substr(replace(each.key, "-", ""), 0, 10)}"
  display_name = "flash-sale ${each.key} function"
}

resource "google_secret_manager_secret_iam_member" "stores" {
  for_each  = { for pair in setproduct(keys(var.functions), keys(local.secret_environment)) : "${pair[0]}/${pair[1]}" => pair }
  project   = var.project_id
  secret_id = local.secret_environment[each.value[1]]
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.value[0]].email}"
}

resource "google_secret_manager_secret_iam_member" "jwt_signing_key" {
  project   = var.project_id
  secret_id = var.secrets.jwt_private_jwk
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function["users"].email}"
}

# Every function that queues work (orders, order-worker for expiries, sweeper for re-drives)
# may enqueue, and may have Cloud Tasks sign the push as the invoker account.
resource "google_cloud_tasks_queue_iam_member" "enqueuer" {
  for_each = toset(["orders", "order-worker", "sweeper"])
  project  = var.project_id
  location = var.region
  name     = var.queue.name
  role     = "roles/cloudtasks.enqueuer"
  member   = "serviceAccount:${google_service_account.function[each.key].email}"
}

resource "google_service_account_iam_member" "act_as_tasks_invoker" {
  for_each           = toset(["orders", "order-worker", "sweeper"])
  service_account_id = "projects/${var.project_id}/serviceAccounts/${var.queue.invoker_email}"
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.function[each.key].email}"
}

# Cloud Functions (2nd gen) URLs follow one pattern, so the order-worker's is known before it
# exists and every function can be one resource without referring to itself.
locals {
  worker_url = "https://${var.region}-${var.project_id}.cloudfunctions.net/${var.name}-order-worker"
}

resource "google_cloudfunctions2_function" "function" {
  for_each = var.functions
  project  = var.project_id
  location = var.region
  name     = "${var.name}-${each.key}"

  build_config {
    runtime     = "nodejs22"
    entry_point = each.key
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    min_instance_count               = each.value.min_instances
    max_instance_count               = each.value.max_instances
    max_instance_request_concurrency = each.value.concurrency
    available_cpu                    = each.value.cpu
    available_memory                 = each.value.memory
    timeout_seconds                  = each.value.timeout_seconds
    service_account_email            = google_service_account.function[each.key].email
    vpc_connector                    = var.connector_id
    vpc_connector_egress_settings    = "PRIVATE_RANGES_ONLY"
    # API Gateway, Cloud Tasks and Cloud Scheduler call from Google's edge, not from the VPC:
    # IAM (the invoker bindings below), not ingress, keeps everyone else out.
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    environment_variables          = merge(local.environment, { WORKER_URL = local.worker_url })

    dynamic "secret_environment_variables" {
      for_each = each.key == "users" ? merge(local.secret_environment, { JWT_PRIVATE_JWK = var.secrets.jwt_private_jwk }) : local.secret_environment
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }
  depends_on = [google_secret_manager_secret_iam_member.stores, google_secret_manager_secret_iam_member.jwt_signing_key]
}

# Only Cloud Tasks may push to the order-worker, only Cloud Scheduler may call the sweeper.
resource "google_cloud_run_v2_service_iam_member" "internal_invoker" {
  for_each = toset(local.internal_names)
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${var.functions[each.key].invoker == "tasks" ? var.queue.invoker_email : var.queue.scheduler_email}"
}

resource "google_cloud_scheduler_job" "sweeper" {
  project          = var.project_id
  region           = var.region
  name             = "${var.name}-sweeper"
  schedule         = var.sweep_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "320s"

  http_target {
    http_method = "POST"
    uri         = "${google_cloudfunctions2_function.function["sweeper"].url}/"
    oidc_token {
      service_account_email = var.queue.scheduler_email
      audience              = google_cloudfunctions2_function.function["sweeper"].url
    }
  }
}
