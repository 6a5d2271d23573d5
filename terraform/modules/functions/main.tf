# One Cloud Functions (2nd gen) function per target, from one source archive, each with its
# own service account and callable only by its one caller: the gateway's account for users,
# sales and orders, Cloud Tasks' for the order-worker, Cloud Scheduler's for the sweeper, and
# anyone for jwks (API Gateway fetches the JWKS without credentials, docs/cloud.md §2).

locals {
  labels = merge(var.labels, { component = "functions" })

  # Each function's environment comes from the provider-free function-env module (the
  # cloud-parity harness evaluates the same module).
  store_functions = { for name, f in var.functions : name => f if f.stores }

  # Connection budget: every instance of every PostgreSQL function may hold a full pool, so
  # the sum of max_instances × pool_size must leave max_connections 10% headroom plus the
  # connections Cloud SQL and operators keep for themselves.
  connection_headroom_percent = 10
  reserved_connections        = 10
  connection_budget           = floor(var.database_max_connections * (100 - local.connection_headroom_percent) / 100) - local.reserved_connections
  connections_needed          = sum(concat([0], [for f in values(local.store_functions) : f.max_instances * f.pool_size]))
}

module "env" {
  source               = "../function-env"
  name                 = var.name
  project_id           = var.project_id
  project_number       = var.project_number
  region               = var.region
  jwt                  = var.jwt
  cors_allowed_origins = var.cors_allowed_origins
  redis_ca             = var.redis_ca
  database_ca          = var.database_ca
  queue_name           = var.queue.name
  tasks_invoker_email  = var.queue.invoker_email
  jwt_public_keys      = var.jwt_public_keys
  settings             = var.settings
  functions            = { for name, f in var.functions : name => { invoker = f.invoker, stores = f.stores, pool_size = f.pool_size } }
  secrets              = var.secrets
}

# The source archives. Names are content hashes, so every deploy's archive stays here (a
# rollback can point back at it); versioning keeps an overwritten or deleted one for
# noncurrent_days (README, Deploy: rolling back).
resource "google_storage_bucket" "source" {
  project                     = var.project_id
  name                        = "${var.project_id}-${var.name}-functions-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.source_bucket.force_destroy
  labels                      = local.labels

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.source_bucket.noncurrent_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age = var.source_bucket.archive_days
    }
    action {
      type = "Delete"
    }
  }
}

# The staging dir scripts/deploy/stage-functions.ts builds (npm run deploy:plan): package.json,
# package-lock.json derived from the root lock, dist/, lua/, migrations/.
data "archive_file" "source" {
  type        = "zip"
  source_dir  = var.source_dir
  output_path = "${path.root}/.terraform/functions-source.zip"
}

resource "google_storage_bucket_object" "source" {
  name   = "functions-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

# The account Cloud Build builds the functions as, instead of a default one whose rights
# changed in 2024 (functions/1stgendocs/securing/build-custom-sa; run/docs/configuring/
# services/build-service-account): logs, the image in Artifact Registry, and the source.
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${substr(var.name, 0, 20)}-build"
  display_name = "Cloud Build of the flash-sale functions"
}

resource "google_project_iam_member" "build" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/artifactregistry.writer",
    # Cloud Functions copies the archive into its own gcf-v2-sources-NUMBER-REGION bucket and
    # builds from there (functions/docs/building); this module does not own that bucket.
    "roles/storage.objectViewer",
  ])
  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.build.email}"
}

resource "google_storage_bucket_iam_member" "build_reads_source" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.build.email}"
}

resource "google_service_account" "function" {
  for_each     = var.functions
  project      = var.project_id
  account_id   = "${substr(var.name, 0, 14)}-${substr(replace(each.key, "-", ""), 0, 10)}"
  display_name = "flash-sale ${each.key} function"
}

# Each function may read exactly the secrets its environment names.
resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each = merge([
    for name, secrets in module.env.secret_environment : {
      for key, ref in secrets : "${name}/${key}" => { function = name, secret = ref.secret }
    }
  ]...)
  project   = var.project_id
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.value.function].email}"
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

# The functions that publish the sales' live view (those whose environment names a Firestore
# project) may read and write Firestore documents; the others get nothing of Firestore.
resource "google_project_iam_member" "live_view_publisher" {
  for_each = toset([for name, env in module.env.environment : name if contains(keys(env), "FIRESTORE_PROJECT_ID")])
  project  = var.project_id
  role     = "roles/datastore.user"
  member   = "serviceAccount:${google_service_account.function[each.key].email}"
}

resource "google_cloudfunctions2_function" "function" {
  for_each = var.functions
  project  = var.project_id
  location = var.region
  name     = "${var.name}-${each.key}"
  labels   = local.labels

  build_config {
    runtime         = "nodejs22"
    entry_point     = each.key
    service_account = google_service_account.build.id
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
    # Only the functions that use Memorystore and Cloud SQL need the private network.
    vpc_connector                 = each.value.stores ? var.connector_id : null
    vpc_connector_egress_settings = each.value.stores ? "PRIVATE_RANGES_ONLY" : null
    # Cloud Tasks and Cloud Scheduler count as internal: nothing else reaches the worker and
    # the sweeper. API Gateway does not, so the public ones are open, and IAM keeps others out.
    ingress_settings               = contains(["tasks", "scheduler"], each.value.invoker) ? "ALLOW_INTERNAL_ONLY" : "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    environment_variables          = module.env.environment[each.key]

    # Pinned to the version this apply created: `latest` would let a hand-added version
    # change a running function without a deploy, and would fail before any version exists.
    dynamic "secret_environment_variables" {
      for_each = module.env.secret_environment[each.key]
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret
        version    = secret_environment_variables.value.version
      }
    }
  }

  lifecycle {
    precondition {
      condition     = local.connections_needed <= local.connection_budget
      error_message = "PostgreSQL connection budget: the sum of max_instances × pool_size over the PostgreSQL functions (${local.connections_needed}) exceeds max_connections less ${local.connection_headroom_percent}% and ${local.reserved_connections} reserved (${local.connection_budget})."
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.accessor,
    google_project_iam_member.build,
    google_storage_bucket_iam_member.build_reads_source,
  ]
}

# Only Cloud Tasks may push to the order-worker, only Cloud Scheduler may call the sweeper.
resource "google_cloud_run_v2_service_iam_member" "internal_invoker" {
  for_each = { for name, f in var.functions : name => f if contains(["tasks", "scheduler"], f.invoker) }
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${each.value.invoker == "tasks" ? var.queue.invoker_email : var.queue.scheduler_email}"
}

# jwks, the one public function: API Gateway fetches the JWKS without credentials.
resource "google_cloud_run_v2_service_iam_member" "public_invoker" {
  for_each = { for name, f in var.functions : name => f if f.invoker == "public" }
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Cloud Scheduler calls the sweeper at its run.app URL, with that URL as the OIDC audience:
# what Cloud Run accepts (docs/cloud.md §5, [run:aud]).
resource "google_cloud_scheduler_job" "sweeper" {
  project          = var.project_id
  region           = var.region
  name             = "${var.name}-sweeper"
  schedule         = var.sweep_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "320s"

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.function["sweeper"].service_config[0].uri
    oidc_token {
      service_account_email = var.queue.scheduler_email
      audience              = google_cloudfunctions2_function.function["sweeper"].service_config[0].uri
    }
  }
}
