# prod: the production-leaning defaults of every module — Memorystore STANDARD_HA, Cloud SQL
# REGIONAL with deletion protection and 14 days of backups, a warm orders instance.

locals {
  name = "flash-sale-prod"
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
}

module "queue" {
  source     = "../../modules/queue"
  project_id = var.project_id
  region     = var.region
  name       = local.name
  depends_on = [google_project_service.apis]
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
