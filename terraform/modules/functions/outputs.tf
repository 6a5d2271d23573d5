output "public_functions" {
  description = "The functions behind the gateway: their URLs and Cloud Run services."
  value = {
    for name, f in google_cloudfunctions2_function.function : name => {
      url     = f.url
      service = f.service_config[0].service
    } if var.functions[name].invoker == "gateway"
  }
}

output "worker_url" {
  description = "The order-worker's URL (WORKER_URL)."
  value       = google_cloudfunctions2_function.function["order-worker"].url
}

output "service_accounts" {
  description = "Each function's own service account."
  value       = { for name, sa in google_service_account.function : name => sa.email }
}
