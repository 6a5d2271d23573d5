# Cloud Tasks: the orders queue (order tasks and hold expiries), and the service accounts
# whose OIDC tokens the queue and Cloud Scheduler present to the functions they call.

resource "google_cloud_tasks_queue" "orders" {
  project  = var.project_id
  location = var.region
  name     = "${var.name}-orders"

  rate_limits {
    max_dispatches_per_second = var.orders_queue.max_dispatches_per_second
    max_concurrent_dispatches = var.orders_queue.max_concurrent_dispatches
  }

  retry_config {
    max_attempts  = var.orders_queue.max_attempts
    min_backoff   = var.orders_queue.min_backoff
    max_backoff   = var.orders_queue.max_backoff
    max_doublings = var.orders_queue.max_doublings
  }
}

resource "google_service_account" "tasks_invoker" {
  project      = var.project_id
  account_id   = "${substr(var.name, 0, 18)}-tasks"
  display_name = "Cloud Tasks → order-worker (OIDC)"
}

resource "google_service_account" "scheduler_invoker" {
  project      = var.project_id
  account_id   = "${substr(var.name, 0, 18)}-sched"
  display_name = "Cloud Scheduler → sweeper (OIDC)"
}
