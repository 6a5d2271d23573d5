output "backends" {
  description = "The functions behind the gateway (invoker gateway or public): run.app URL, Cloud Run service, invoker."
  value = {
    for name, f in google_cloudfunctions2_function.function : name => {
      url     = f.service_config[0].uri
      service = f.service_config[0].service
      invoker = var.functions[name].invoker
    } if contains(["gateway", "public"], var.functions[name].invoker)
  }
}

output "worker_url" {
  description = "The order-worker's run.app URL (WORKER_URL)."
  value       = module.env.url["order-worker"]
}

output "service_accounts" {
  description = "Each function's own service account, and the build's."
  value       = merge({ for name, sa in google_service_account.function : name => sa.email }, { build = google_service_account.build.email })
}
