variable "project_id" {
  description = "The Google Cloud project the functions log into."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name, e.g. flash-sale-prod; the Memorystore instance is <name>-redis."
  type        = string
}

variable "labels" {
  description = "Labels of the alert policies."
  type        = map(string)
  default     = {}
}

variable "notification_channels" {
  description = "Notification channel ids (projects/<p>/notificationChannels/<id>) every alert goes to; none: alerts show in the console only."
  type        = list(string)
  default     = []
}

variable "thresholds" {
  description = "When the alerts fire: the share of 5xx answers, the seconds a condition must hold, Redis's used memory share."
  type = object({
    error_ratio        = optional(number, 0.01)
    duration_seconds   = optional(number, 300)
    redis_memory_ratio = optional(number, 0.8)
  })
  default = {}
  validation {
    condition     = var.thresholds.error_ratio > 0 && var.thresholds.error_ratio < 1 && var.thresholds.redis_memory_ratio > 0 && var.thresholds.redis_memory_ratio <= 1
    error_message = "thresholds: error_ratio in (0, 1), redis_memory_ratio in (0, 1]."
  }
}
