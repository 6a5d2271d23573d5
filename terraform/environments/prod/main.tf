# prod: the production-leaning defaults of every module — Memorystore STANDARD_HA, Cloud SQL
# REGIONAL with deletion protection and 14 days of backups, a warm orders instance.
module "flash_sale" {
  source               = "../../modules/flash-sale"
  project_id           = var.project_id
  region               = var.region
  name                 = "flash-sale-prod"
  jwt_issuer           = var.jwt_issuer
  admin_emails         = var.admin_emails
  functions_source_dir = "${path.module}/../../../functions"
  openapi_file         = "${path.module}/../../../openapi.yaml"
}
