variable "project_id" {
  description = "The Google Cloud project."
  type        = string
}

variable "region" {
  description = "The region of the queue."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
}

variable "orders_queue" {
  description = <<-EOT
    The queue between the orders function and the order-worker. Its dispatch rate bounds the
    load on PostgreSQL; its retries carry orders through a PostgreSQL outage (the worker answers
    5xx), so they must outlast one (functions/src/lib/task-queue-port.ts: ORDER_QUEUE_RETRY).
    A persist-order task carries the orders one instance accepted in one turn (up to the
    functions' TASK_ORDERS_MAX, 100, and 32 KB), so the ceiling is max_dispatches_per_second
    (at most 500) times orders per task; one queue, not shards (docs/design.md, The queue's
    ceiling).
  EOT
  type = object({
    max_dispatches_per_second = optional(number, 500)
    max_concurrent_dispatches = optional(number, 200)
    max_attempts              = optional(number, 100)
    min_backoff               = optional(string, "0.200s")
    max_backoff               = optional(string, "10s")
    max_doublings             = optional(number, 6)
  })
  default = {}
  validation {
    condition     = var.orders_queue.max_dispatches_per_second > 0 && var.orders_queue.max_dispatches_per_second <= 500
    error_message = "orders_queue.max_dispatches_per_second: above 0 and at most 500 (Cloud Tasks' limit per queue)."
  }
  validation {
    condition     = var.orders_queue.max_attempts == -1 || var.orders_queue.max_attempts >= 10
    error_message = "orders_queue.max_attempts: at least 10 (or -1, unlimited): an order must survive a PostgreSQL restart."
  }
}
