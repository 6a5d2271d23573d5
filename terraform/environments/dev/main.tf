# dev: a throwaway environment — the smallest sizes, one zone, no deletion protection.
module "flash_sale" {
  source                   = "../../modules/flash-sale"
  project_id               = var.project_id
  region                   = var.region
  name                     = "flash-sale-dev"
  jwt_issuer               = var.jwt_issuer
  jwt_previous_public_keys = var.jwt_previous_public_keys
  cors_allowed_origins     = var.cors_allowed_origins
  # Where the sale-day alerts go (README, Operating a sale).
  alert_notification_channels = var.alert_notification_channels
  # The staging dir `npm run deploy:plan` builds (scripts/deploy/stage-functions.ts).
  functions_source_dir = "${path.module}/../../../.deploy/functions"
  openapi_file         = "${path.module}/../../../openapi.yaml"

  connector     = { machine_type = "e2-micro", min_instances = 2, max_instances = 3 }
  redis         = { tier = "BASIC", memory_size_gb = 1 }
  postgres      = { edition = "ENTERPRISE", tier = "db-custom-1-3840", availability_type = "ZONAL", deletion_protection = false, retained_backups = 3, max_connections = 200 }
  orders_queue  = { max_dispatches_per_second = 100 }
  source_bucket = { force_destroy = true }
  functions = {
    users          = { invoker = "gateway", max_instances = 3, concurrency = 8, pool_size = 4 }
    sales          = { invoker = "gateway", max_instances = 3, pool_size = 4 }
    orders         = { invoker = "gateway", max_instances = 5, concurrency = 250, pool_size = 3 }
    "order-worker" = { invoker = "tasks", max_instances = 3, concurrency = 50, pool_size = 8 }
    sweeper        = { invoker = "scheduler", max_instances = 1, concurrency = 1, timeout_seconds = 300, pool_size = 2 }
    jwks           = { invoker = "public", stores = false, max_instances = 2, memory = "256Mi" }
  }
}
