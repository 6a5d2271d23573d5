output "gateway_url" {
  description = "The API's address: what clients and the React app call."
  value       = module.gateway.gateway_url
}

output "worker_url" {
  description = "The order-worker function's run.app URL (WORKER_URL)."
  value       = module.functions.worker_url
}

output "postgres_instance" {
  description = "Cloud SQL's connection name (logs, backups, point-in-time recovery)."
  value       = module.data.postgres_instance
}

output "redis_host" {
  description = "Memorystore's private address."
  value       = module.data.redis_host
}

output "secrets" {
  description = "The Secret Manager secrets the functions read, each pinned to the version this apply wrote."
  value = {
    database_url    = module.data.database_url_secret
    redis_url       = module.data.redis_url_secret
    jwt_private_key = { secret = google_secret_manager_secret.jwt_private_key.secret_id, version = google_secret_manager_secret_version.jwt_private_key.version }
  }
}

output "jwt_public_key" {
  description = "The current token-signing public key (SPKI PEM): keep it in jwt_previous_public_keys when rotating."
  value       = tls_private_key.jwt.public_key_pem
}

output "function_service_accounts" {
  description = "Each function's service account, and the build's."
  value       = module.functions.service_accounts
}

output "monitoring" {
  description = "The sale-day dashboard, the log-based metrics' types and the alert policies."
  value = {
    dashboard_id   = module.monitoring.dashboard_id
    metric_types   = module.monitoring.metric_types
    alert_policies = module.monitoring.alert_policies
  }
}

output "web" {
  description = "What `npm run deploy:web` builds the client with: the Hosting site, its origins, and the Firebase web config (none of it secret)."
  value = {
    hosting_site     = google_firebase_hosting_site.web.site_id
    origins          = local.hosting_origins
    firebase_project = var.project_id
    api_key          = data.google_firebase_web_app_config.web.api_key
    app_id           = google_firebase_web_app.web.app_id
    auth_domain      = data.google_firebase_web_app_config.web.auth_domain
    firestore        = google_firestore_database.live_view.name
  }
}
