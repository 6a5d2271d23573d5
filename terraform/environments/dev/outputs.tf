output "gateway_url" {
  description = "The API's address: what clients and the React app call."
  value       = module.flash_sale.gateway_url
}

output "deployment" {
  description = "Everything an operator needs next: worker URL, Cloud SQL instance, Redis host, secrets, service accounts."
  value = {
    worker_url                = module.flash_sale.worker_url
    postgres_instance         = module.flash_sale.postgres_instance
    redis_host                = module.flash_sale.redis_host
    secrets                   = module.flash_sale.secrets
    jwt_public_key            = module.flash_sale.jwt_public_key
    function_service_accounts = module.flash_sale.function_service_accounts
    monitoring                = module.flash_sale.monitoring
  }
}

output "web" {
  description = "The web client's Hosting site and Firebase config (npm run deploy:web reads it)."
  value       = module.flash_sale.web
}
