# dev: a throwaway environment — the smallest sizes, one zone, no deletion protection.

locals {
  name = "flash-sale-dev"
}

resource "google_project_service" "apis" {
  for_each = toset([
    "apigateway.googleapis.com", "servicemanagement.googleapis.com", "servicecontrol.googleapis.com",
    "cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com", "artifactregistry.googleapis.com",
    "cloudtasks.googleapis.com", "cloudscheduler.googleapis.com", "redis.googleapis.com", "sqladmin.googleapis.com",
    "servicenetworking.googleapis.com", "vpcaccess.googleapis.com", "secretmanager.googleapis.com", "compute.googleapis.com",
  ])
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

resource "google_secret_manager_secret" "jwt_private_jwk" {
  project   = var.project_id
  secret_id = "${local.name}-jwt-private-jwk"
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

module "network" {
  source     = "../../modules/network"
  project_id = var.project_id
  region     = var.region
  name       = local.name
  depends_on = [google_project_service.apis]
}

module "data" {
  source                      = "../../modules/data"
  project_id                  = var.project_id
  region                      = var.region
  name                        = local.name
  network_id                  = module.network.network_id
  private_services_connection = module.network.private_services_connection
  redis                       = { tier = "BASIC", memory_size_gb = 1 }
  postgres                    = { tier = "db-custom-1-3840", availability_type = "ZONAL", deletion_protection = false, retained_backups = 3, max_connections = 200 }
}

module "queue" {
  source       = "../../modules/queue"
  project_id   = var.project_id
  region       = var.region
  name         = local.name
  orders_queue = { max_dispatches_per_second = 100 }
  depends_on   = [google_project_service.apis]
}

module "functions" {
  source               = "../../modules/functions"
  project_id           = var.project_id
  region               = var.region
  name                 = local.name
  source_dir           = "${path.module}/../../../functions"
  connector_id         = module.network.connector_id
  redis_ca_certificate = module.data.redis_ca_certificate
  jwt                  = { issuer = var.jwt_issuer }
  admin_emails         = var.admin_emails
  secrets = {
    database_url    = module.data.database_url_secret
    redis_url       = module.data.redis_url_secret
    jwt_private_jwk = google_secret_manager_secret.jwt_private_jwk.secret_id
  }
  queue = {
    id              = module.queue.queue_id
    name            = module.queue.queue_name
    invoker_email   = module.queue.tasks_invoker_email
    scheduler_email = module.queue.scheduler_invoker_email
  }
  functions = {
    users          = { invoker = "gateway", max_instances = 3, concurrency = 8 }
    sales          = { invoker = "gateway", max_instances = 3 }
    orders         = { invoker = "gateway", max_instances = 5, concurrency = 250 }
    "order-worker" = { invoker = "tasks", max_instances = 3, concurrency = 50 }
    sweeper        = { invoker = "scheduler", max_instances = 1, concurrency = 1, timeout_seconds = 300 }
  }
}

module "gateway" {
  source           = "../../modules/gateway"
  project_id       = var.project_id
  region           = var.region
  name             = local.name
  openapi_file     = "${path.module}/../../../openapi.yaml"
  public_functions = module.functions.public_functions
  jwt              = { issuer = var.jwt_issuer }
}
