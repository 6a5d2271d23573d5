output "environment" {
  description = "Per function: its plain environment variables (WORKER_URL included)."
  value       = local.environment
}

output "secret_environment" {
  description = "Per function: environment variable => { secret, version } from Secret Manager."
  value       = local.secret_environment
}

output "url" {
  description = "Per function: its run.app URL by the platform's pattern."
  value       = local.urls
}
