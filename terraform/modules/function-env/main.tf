# Each function's environment, computed from plain values: no provider, no resource, no data
# source, so the cloud-parity harness can evaluate it from @cdktf/hcl2json output in JS.
#
# Keep the expressions to this subset (the harness evaluates nothing else): string templates
# referencing var.* and local.*, join(), merge(), conditionals, and for-expressions over maps.
# No other function (not even tostring or lookup), no splat, no count, no dynamic values.

locals {
  # A 2nd-gen function's Cloud Run service is named like the function; its deterministic
  # run.app URL is https://SERVICE-PROJECT_NUMBER.REGION.run.app (docs/cloud.md §5, [run:url]) while
  # the label stays ≤ 63 characters (name ≤ 21 + function ≤ 12 + number ≤ 12: it does). Known
  # before the functions exist, so one function's environment can name another's URL.
  urls = { for name, f in var.functions : name => "https://${var.name}-${name}-${var.project_number}.${var.region}.run.app" }

  # Every function: how it authenticates and whom it answers.
  common = {
    NODE_ENV             = "production"
    AUTH_MODE            = "gateway"
    JWT_ISSUER           = var.jwt.issuer
    JWT_AUDIENCE         = var.jwt.audience
    JWKS_URL             = "${local.urls["jwks"]}/.well-known/jwks.json"
    CORS_ALLOWED_ORIGINS = join(",", var.cors_allowed_origins)
    # UNCONFIRMED (docs/cloud.md §4): Google's front ends are believed to append
    # "<client-ip>, <lb-ip>", so the client is the 2nd entry from the right. README (Deploy)
    # says how to check it after the first deploy and where to change it (settings).
    FORWARDED_FOR_HOP = "2"
  }

  # The functions that use Redis and PostgreSQL (stores = true).
  stores = {
    REDIS_TLS_CA          = var.redis_ca
    DATABASE_CA           = var.database_ca
    MIGRATE_ON_START      = "true"
    TASK_QUEUE            = "cloud-tasks"
    TASKS_PROJECT         = var.project_id
    TASKS_LOCATION        = var.region
    TASKS_QUEUE           = var.queue_name
    TASKS_SERVICE_ACCOUNT = var.tasks_invoker_email
    WORKER_URL            = local.urls["order-worker"]
  }

  environment = {
    for name, f in var.functions : name => merge(
      local.common,
      f.stores ? merge(local.stores, { DATABASE_POOL_SIZE = "${f.pool_size}" }) : {},
      name == "jwks" ? { JWT_PUBLIC_KEYS = var.jwt_public_keys } : {},
      # The functions that publish the sales' live view (lib/live-view.ts) to Firestore; only
      # they get FIRESTORE_PROJECT_ID, and roles/datastore.user (the functions module).
      name == "sales" || name == "orders" || name == "order-worker" || name == "sweeper" ? { FIRESTORE_PROJECT_ID = var.project_id } : {},
      var.settings,
    )
  }

  secret_environment = {
    for name, f in var.functions : name => merge(
      f.stores ? { DATABASE_URL = var.secrets.database_url, REDIS_URL = var.secrets.redis_url } : {},
      name == "users" ? { JWT_PRIVATE_KEY = var.secrets.jwt_private_key } : {},
    )
  }
}
