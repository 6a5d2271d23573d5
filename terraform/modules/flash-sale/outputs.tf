output "gateway_url" {
  description = "The API's address: what clients and the React app call."
  value       = module.gateway.gateway_url
}

output "worker_url" {
  description = "The order-worker function's URL."
  value       = module.functions.worker_url
}

output "postgres_instance" {
  description = "Cloud SQL's connection name: run the migrations through the Cloud SQL Auth Proxy to it."
  value       = module.data.postgres_instance
}

output "redis_host" {
  description = "Memorystore's private address."
  value       = module.data.redis_host
}

output "secrets" {
  description = "The Secret Manager secrets; add the JWT signing key's version yourself (README, Deploy)."
  value = {
    database_url    = module.data.database_url_secret
    redis_url       = module.data.redis_url_secret
    jwt_private_jwk = google_secret_manager_secret.jwt_private_jwk.secret_id
  }
}

output "function_service_accounts" {
  description = "Each function's service account."
  value       = module.functions.service_accounts
}
