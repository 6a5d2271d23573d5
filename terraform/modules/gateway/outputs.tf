output "gateway_url" {
  description = "The API's address: what clients call."
  value       = "https://${google_api_gateway_gateway.flash_sale.default_hostname}"
}

output "gateway_service_account" {
  description = "The account the gateway calls the functions as."
  value       = google_service_account.gateway.email
}
