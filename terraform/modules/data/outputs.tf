output "database_url_secret" {
  description = "Secret Manager secret holding DATABASE_URL (with the password)."
  value       = google_secret_manager_secret.database_url.secret_id
}

output "redis_url_secret" {
  description = "Secret Manager secret holding REDIS_URL (with the AUTH string)."
  value       = google_secret_manager_secret.redis_url.secret_id
}

output "redis_ca_certificate" {
  description = "The Memorystore server CA, for REDIS_TLS_CA (public, not a secret)."
  value       = google_redis_instance.tokens.server_ca_certs[0].cert
}

output "redis_host" {
  description = "Memorystore's private address and port."
  value       = "${google_redis_instance.tokens.host}:${google_redis_instance.tokens.port}"
}

output "postgres_instance" {
  description = "The Cloud SQL instance's connection name, for the Cloud SQL Auth Proxy (migrations)."
  value       = google_sql_database_instance.orders.connection_name
}

output "postgres_private_ip" {
  description = "Cloud SQL's private address."
  value       = google_sql_database_instance.orders.private_ip_address
}
