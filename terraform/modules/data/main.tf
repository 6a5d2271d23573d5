# The two stores: Memorystore (Redis 7, TLS and AUTH, noeviction) and Cloud SQL for
# PostgreSQL (private IP only, backups with point-in-time recovery). Their connection
# strings, which carry credentials, go to Secret Manager and nowhere else.

resource "google_redis_instance" "tokens" {
  project                 = var.project_id
  region                  = var.region
  name                    = "${var.name}-redis"
  tier                    = var.redis.tier
  memory_size_gb          = var.redis.memory_size_gb
  redis_version           = var.redis.redis_version
  authorized_network      = var.network_id
  connect_mode            = "PRIVATE_SERVICE_ACCESS"
  auth_enabled            = true
  transit_encryption_mode = "SERVER_AUTHENTICATION"
  redis_configs = {
    maxmemory-policy = "noeviction"
  }
  labels     = var.labels
  depends_on = [var.private_services_connection]
}

resource "google_sql_database_instance" "orders" {
  project             = var.project_id
  region              = var.region
  name                = "${var.name}-postgres"
  database_version    = var.postgres.database_version
  deletion_protection = var.postgres.deletion_protection

  settings {
    # PostgreSQL 16+ defaults to ENTERPRISE_PLUS, which refuses db-custom-* tiers (docs/cloud.md §9,
    # [sql:new], [mm#18014]): the edition is always explicit, and validated with the tier.
    edition           = var.postgres.edition
    tier              = var.postgres.tier
    user_labels       = var.labels
    availability_type = var.postgres.availability_type
    disk_size         = var.postgres.disk_size_gb
    disk_autoresize   = true

    ip_configuration {
      ipv4_enabled    = false
      private_network = var.network_id
      ssl_mode        = "ENCRYPTED_ONLY"
    }

    backup_configuration {
      enabled                        = true
      start_time                     = var.postgres.backup_start_time
      point_in_time_recovery_enabled = true
      backup_retention_settings {
        retained_backups = var.postgres.retained_backups
      }
    }

    database_flags {
      name  = "max_connections"
      value = tostring(var.postgres.max_connections)
    }
  }
  depends_on = [var.private_services_connection]
}

# ABANDON: the database and its user go with the instance; deleting them one by one fails
# once the user owns objects (hashicorp/terraform-provider-google#12968), which would block
# `terraform destroy` of dev.
resource "google_sql_database" "flashsale" {
  project         = var.project_id
  instance        = google_sql_database_instance.orders.name
  name            = "flashsale"
  deletion_policy = "ABANDON"
}

resource "random_password" "app" {
  length  = 32
  special = false
}

resource "google_sql_user" "app" {
  project         = var.project_id
  instance        = google_sql_database_instance.orders.name
  name            = "flashsale"
  password        = random_password.app.result
  deletion_policy = "ABANDON"
}

resource "google_secret_manager_secret" "database_url" {
  project   = var.project_id
  secret_id = "${var.name}-database-url"
  labels    = var.labels
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "database_url" {
  secret = google_secret_manager_secret.database_url.id
  # No sslmode: TLS and its verification come from DATABASE_CA (the contract); a libpq
  # sslmode in the URL would override the TLS options the code builds from DATABASE_CA.
  secret_data = "postgres://${google_sql_user.app.name}:${random_password.app.result}@${google_sql_database_instance.orders.private_ip_address}:5432/${google_sql_database.flashsale.name}"
}

resource "google_secret_manager_secret" "redis_url" {
  project   = var.project_id
  secret_id = "${var.name}-redis-url"
  labels    = var.labels
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "redis_url" {
  secret      = google_secret_manager_secret.redis_url.id
  secret_data = "rediss://:${google_redis_instance.tokens.auth_string}@${google_redis_instance.tokens.host}:${google_redis_instance.tokens.port}"
}
