output "queue_id" {
  description = "The orders queue's full id."
  value       = google_cloud_tasks_queue.orders.id
}

output "queue_name" {
  description = "The orders queue's short name (TASKS_QUEUE)."
  value       = google_cloud_tasks_queue.orders.name
}

output "tasks_invoker_email" {
  description = "The account Cloud Tasks signs its pushes as (TASKS_SERVICE_ACCOUNT)."
  value       = google_service_account.tasks_invoker.email
}

output "scheduler_invoker_email" {
  description = "The account Cloud Scheduler signs its calls as."
  value       = google_service_account.scheduler_invoker.email
}
