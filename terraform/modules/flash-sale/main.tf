# The whole deployment of one environment: the APIs it needs, the JWT signing key (made
# here, so the first apply needs no hand step), and the network, data, queue, functions
# and gateway modules wired together, each after the APIs it uses are on.

locals {
  labels = merge({ app = "flash-sale", deployment = var.name }, var.labels)
  # Firebase Hosting serves a site at both of these (the site is named like the project).
  hosting_origins = ["https://${var.project_id}.web.app", "https://${var.project_id}.firebaseapp.com"]
}

resource "google_project_service" "apis" {
  for_each = toset([
    # IAM and Resource Manager: service accounts, IAM bindings and the project's number.
    "iam.googleapis.com", "iamcredentials.googleapis.com", "cloudresourcemanager.googleapis.com",
    "apigateway.googleapis.com", "servicemanagement.googleapis.com", "servicecontrol.googleapis.com",
    "cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com", "artifactregistry.googleapis.com",
    "cloudtasks.googleapis.com", "cloudscheduler.googleapis.com", "redis.googleapis.com", "sqladmin.googleapis.com",
    "servicenetworking.googleapis.com", "vpcaccess.googleapis.com", "secretmanager.googleapis.com", "compute.googleapis.com",
    "storage.googleapis.com", "logging.googleapis.com", "monitoring.googleapis.com",
    # The sales' live view (Firestore) and the web client on Firebase Hosting.
    "firestore.googleapis.com", "firebase.googleapis.com", "firebasehosting.googleapis.com", "firebaserules.googleapis.com",
  ])
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# The project's number is part of every run.app URL (WORKER_URL, JWKS_URL).
data "google_project" "this" {
  project_id = var.project_id
  depends_on = [google_project_service.apis]
}

# The ES256 signing key. It lives in the Terraform state (keep the state bucket
# access-controlled) and in Secret Manager; rotation: README, Deploy.
resource "tls_private_key" "jwt" {
  algorithm   = "ECDSA"
  ecdsa_curve = "P256"
}

resource "google_secret_manager_secret" "jwt_private_key" {
  project   = var.project_id
  secret_id = "${var.name}-jwt-private-key"
  labels    = local.labels
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "jwt_private_key" {
  secret      = google_secret_manager_secret.jwt_private_key.id
  secret_data = tls_private_key.jwt.private_key_pem_pkcs8
}

module "network" {
  source     = "../network"
  project_id = var.project_id
  region     = var.region
  name       = var.name
  connector  = var.connector
  depends_on = [google_project_service.apis]
}

module "data" {
  source                      = "../data"
  project_id                  = var.project_id
  region                      = var.region
  name                        = var.name
  labels                      = local.labels
  network_id                  = module.network.network_id
  private_services_connection = module.network.private_services_connection
  redis                       = var.redis
  postgres                    = var.postgres
  depends_on                  = [google_project_service.apis]
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
  source                   = "../functions"
  project_id               = var.project_id
  project_number           = data.google_project.this.number
  region                   = var.region
  name                     = var.name
  labels                   = local.labels
  source_dir               = var.functions_source_dir
  source_bucket            = var.source_bucket
  connector_id             = module.network.connector_id
  redis_ca                 = module.data.redis_ca_certificate
  database_ca              = module.data.database_ca_certificate
  database_max_connections = module.data.max_connections
  jwt                      = { issuer = var.jwt_issuer }
  # The current key first; previous ones stay listed for a token lifetime after a rotation.
  jwt_public_keys = join("", concat([tls_private_key.jwt.public_key_pem], var.jwt_previous_public_keys))
  # The web client on Firebase Hosting calls the API from both of its site's origins.
  cors_allowed_origins = concat(var.cors_allowed_origins, local.hosting_origins)
  settings             = var.settings
  secrets = {
    database_url = module.data.database_url_secret
    redis_url    = module.data.redis_url_secret
    jwt_private_key = {
      secret  = google_secret_manager_secret.jwt_private_key.secret_id
      version = google_secret_manager_secret_version.jwt_private_key.version
    }
  }
  queue = {
    id              = module.queue.queue_id
    name            = module.queue.queue_name
    invoker_email   = module.queue.tasks_invoker_email
    scheduler_email = module.queue.scheduler_invoker_email
  }
  functions  = var.functions
  depends_on = [google_project_service.apis]
}

module "gateway" {
  source       = "../gateway"
  project_id   = var.project_id
  region       = var.region
  name         = var.name
  labels       = local.labels
  openapi_file = var.openapi_file
  backends     = module.functions.backends
  jwt          = { issuer = var.jwt_issuer }
  depends_on   = [google_project_service.apis]
}

# Sale-day monitoring: log-based metrics, a dashboard and the alerts (README, Operating a sale).
module "monitoring" {
  source                = "../monitoring"
  project_id            = var.project_id
  name                  = var.name
  labels                = local.labels
  notification_channels = var.alert_notification_channels
  depends_on            = [google_project_service.apis]
}

# The sales' live view: the Firestore database the publishing functions write (lib/live-view.ts,
# roles/datastore.user in the functions module) and browsers read under firestore.rules, in
# native mode and in the region of everything else. Its rules and the web client are deployed
# by `npm run deploy:web` (firebase deploy --only hosting,firestore:rules).
resource "google_firestore_database" "live_view" {
  project     = var.project_id
  name        = "(default)"
  location_id = var.region
  type        = "FIRESTORE_NATIVE"
  # A projection, rewritten by the sweeper's next pass: nothing in it needs a backup.
  deletion_policy = "DELETE"
  depends_on      = [google_project_service.apis]
}

# Firebase on the project, the web app whose config the client is built with, and its
# Hosting site (the default one, named like the project: <project>.web.app).
resource "google_firebase_project" "this" {
  provider   = google-beta
  project    = var.project_id
  depends_on = [google_project_service.apis]
}

resource "google_firebase_web_app" "web" {
  provider        = google-beta
  project         = var.project_id
  display_name    = var.name
  deletion_policy = "DELETE"
  depends_on      = [google_firebase_project.this]
}

data "google_firebase_web_app_config" "web" {
  provider   = google-beta
  project    = var.project_id
  web_app_id = google_firebase_web_app.web.app_id
}

resource "google_firebase_hosting_site" "web" {
  provider = google-beta
  project  = var.project_id
  site_id  = var.project_id
  app_id   = google_firebase_web_app.web.app_id
}
