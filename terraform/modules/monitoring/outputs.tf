output "dashboard_id" {
  description = "The sale-day dashboard (Monitoring > Dashboards)."
  value       = google_monitoring_dashboard.sale.id
}

output "metric_types" {
  description = "The log-based metrics by name, as Cloud Monitoring names them (for charts and alerts of your own)."
  value       = { for k, m in google_logging_metric.metric : k => "logging.googleapis.com/user/${m.name}" }
}

output "alert_policies" {
  description = "The alert policies' ids by what they watch."
  value = {
    error_rate      = google_monitoring_alert_policy.error_rate.id
    stuck_pending   = google_monitoring_alert_policy.stuck_pending.id
    worker_failures = google_monitoring_alert_policy.worker_failures.id
    redis_memory    = google_monitoring_alert_policy.redis_memory.id
  }
}
