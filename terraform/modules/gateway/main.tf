# API Gateway: the API, its config rendered from openapi.yaml (backends = the functions'
# URLs, JWT checked against the users function's JWKS), and the gateway. The gateway's own
# service account is the only caller the public functions accept.

resource "google_service_account" "gateway" {
  project      = var.project_id
  account_id   = "${substr(var.name, 0, 20)}-gw"
  display_name = "API Gateway → functions"
}

resource "google_cloud_run_v2_service_iam_member" "gateway_invoker" {
  for_each = var.public_functions
  project  = var.project_id
  location = var.region
  name     = each.value.service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.gateway.email}"
}

resource "google_api_gateway_api" "flash_sale" {
  provider = google-beta
  project  = var.project_id
  api_id   = var.name
}

resource "google_api_gateway_api_config" "flash_sale" {
  provider             = google-beta
  project              = var.project_id
  api                  = google_api_gateway_api.flash_sale.api_id
  api_config_id_prefix = "${var.name}-"

  openapi_documents {
    document {
      path = "openapi.yaml"
      contents = base64encode(templatefile(var.openapi_file, {
        users_url    = var.public_functions["users"].url
        sales_url    = var.public_functions["sales"].url
        orders_url   = var.public_functions["orders"].url
        jwt_issuer   = var.jwt.issuer
        jwt_audience = var.jwt.audience
        jwks_uri     = "${var.public_functions["users"].url}/.well-known/jwks.json"
      }))
    }
  }

  gateway_config {
    backend_config {
      google_service_account = google_service_account.gateway.email
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_api_gateway_gateway" "flash_sale" {
  provider   = google-beta
  project    = var.project_id
  region     = var.region
  gateway_id = var.name
  api_config = google_api_gateway_api_config.flash_sale.id
}
