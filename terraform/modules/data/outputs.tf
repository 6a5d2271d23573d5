output "database_url_secret" {
  description = "Secret Manager secret holding DATABASE_URL (with the password), and the version this apply wrote."
  value = {
    secret  = google_secret_manager_secret.database_url.secret_id
    version = google_secret_manager_secret_version.database_url.version
  }
}

output "redis_url_secret" {
  description = "Secret Manager secret holding REDIS_URL (with the AUTH string), and the version this apply wrote."
  value = {
    secret  = google_secret_manager_secret.redis_url.secret_id
    version = google_secret_manager_secret_version.redis_url.version
  }
}

output "redis_ca_certificate" {
  description = "Memorystore's server CAs for REDIS_TLS_CA (public, not secret): every one, since during a CA rotation the list holds the old and the new."
  value       = join("\n", google_redis_instance.tokens.server_ca_certs[*].cert)
}

output "database_ca_certificate" {
  description = "Cloud SQL's server CA (PEM) for DATABASE_CA (public, not secret)."
  value       = google_sql_database_instance.orders.server_ca_cert[0].cert
}

output "max_connections" {
  description = "PostgreSQL's max_connections, for the functions' connection budget."
  value       = var.postgres.max_connections
}

output "redis_host" {
  description = "Memorystore's private address and port."
  value       = "${google_redis_instance.tokens.host}:${google_redis_instance.tokens.port}"
}

output "postgres_instance" {
  description = "The Cloud SQL instance's connection name."
  value       = google_sql_database_instance.orders.connection_name
}

output "postgres_private_ip" {
  description = "Cloud SQL's private address."
  value       = google_sql_database_instance.orders.private_ip_address
}
