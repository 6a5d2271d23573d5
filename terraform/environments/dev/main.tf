# dev: a throwaway environment — the smallest sizes, one zone, no deletion protection.
module "flash_sale" {
  source               = "../../modules/flash-sale"
  project_id           = var.project_id
  region               = var.region
  name                 = "flash-sale-dev"
  jwt_issuer           = var.jwt_issuer
  admin_emails         = var.admin_emails
  functions_source_dir = "${path.module}/../../../functions"
  openapi_file         = "${path.module}/../../../openapi.yaml"

  redis        = { tier = "BASIC", memory_size_gb = 1 }
  postgres     = { tier = "db-custom-1-3840", availability_type = "ZONAL", deletion_protection = false, retained_backups = 3, max_connections = 200 }
  orders_queue = { max_dispatches_per_second = 100 }
  functions = {
    users          = { invoker = "gateway", max_instances = 3, concurrency = 8 }
    sales          = { invoker = "gateway", max_instances = 3 }
    orders         = { invoker = "gateway", max_instances = 5, concurrency = 250 }
    "order-worker" = { invoker = "tasks", max_instances = 3, concurrency = 50 }
    sweeper        = { invoker = "scheduler", max_instances = 1, concurrency = 1, timeout_seconds = 300 }
  }
}
