# prod: the production-leaning defaults of every module — Memorystore STANDARD_HA, Cloud SQL
# REGIONAL (ENTERPRISE edition) with deletion protection and 14 days of backups, a warm
# orders instance.
module "flash_sale" {
  source                   = "../../modules/flash-sale"
  project_id               = var.project_id
  region                   = var.region
  name                     = "flash-sale-prod"
  jwt_issuer               = var.jwt_issuer
  jwt_previous_public_keys = var.jwt_previous_public_keys
  cors_allowed_origins     = var.cors_allowed_origins
  # Where the sale-day alerts go (README, Operating a sale).
  alert_notification_channels = var.alert_notification_channels
  # The staging dir `npm run deploy:plan` builds (scripts/deploy/stage-functions.ts).
  functions_source_dir = "${path.module}/../../../.deploy/functions"
  openapi_file         = "${path.module}/../../../openapi.yaml"

  postgres = { deletion_protection = true }
}
