# The whole deployment of one environment: the APIs it needs, the JWT signing key's secret,
# and the network, data, queue, functions and gateway modules wired together.

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
  secret_id = "${var.name}-jwt-private-jwk"
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

module "network" {
  source     = "../network"
  project_id = var.project_id
  region     = var.region
  name       = var.name
  depends_on = [google_project_service.apis]
}

module "data" {
  source                      = "../data"
  project_id                  = var.project_id
  region                      = var.region
  name                        = var.name
  network_id                  = module.network.network_id
  private_services_connection = module.network.private_services_connection
  redis                       = var.redis
  postgres                    = var.postgres
}

module "queue" {
  source       = "../queue"
  project_id   = var.project_id
  region       = var.region
  name         = var.name
  orders_queue = var.orders_queue
  depends_on   = [google_project_service.apis]
}

module "functions" {
  source               = "../functions"
  project_id           = var.project_id
  region               = var.region
  name                 = var.name
  source_dir           = var.functions_source_dir
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
  functions = var.functions
}

module "gateway" {
  source           = "../gateway"
  project_id       = var.project_id
  region           = var.region
  name             = var.name
  openapi_file     = var.openapi_file
  public_functions = module.functions.public_functions
  jwt              = { issuer = var.jwt_issuer }
}
