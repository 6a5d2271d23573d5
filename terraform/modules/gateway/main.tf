# API Gateway: the API, its config rendered from openapi.yaml (backends = the functions'
# run.app URLs, JWT checked against the jwks function's JWKS), and the gateway. The gateway's
# own service account is the only caller the gateway-invoked functions accept.

resource "google_service_account" "gateway" {
  project      = var.project_id
  account_id   = "${substr(var.name, 0, 20)}-gw"
  display_name = "API Gateway → functions"
}

# jwks is public (invoker "public", functions module); the others only take the gateway.
resource "google_cloud_run_v2_service_iam_member" "gateway_invoker" {
  for_each = { for name, b in var.backends : name => b if b.invoker == "gateway" }
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
  labels   = var.labels
}

resource "google_api_gateway_api_config" "flash_sale" {
  provider             = google-beta
  project              = var.project_id
  api                  = google_api_gateway_api.flash_sale.api_id
  api_config_id_prefix = "${var.name}-"
  labels               = var.labels

  # Backend addresses are the functions' run.app URLs (service_config[0].uri): the gateway's
  # ID token carries its backend address as audience (docs/cloud.md §1, [esp:rm]) and Cloud Run
  # accepts its run.app URL as one (§5, [run:aud]). managed_service names the API's service,
  # the only name x-google-endpoints' allowCors is honoured for (§3).
  openapi_documents {
    document {
      path = "openapi.yaml"
      contents = base64encode(templatefile(var.openapi_file, {
        users_url       = var.backends["users"].url
        sales_url       = var.backends["sales"].url
        orders_url      = var.backends["orders"].url
        jwks_url        = var.backends["jwks"].url
        jwt_issuer      = var.jwt.issuer
        jwt_audience    = var.jwt.audience
        managed_service = google_api_gateway_api.flash_sale.managed_service
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
  labels     = var.labels
}
