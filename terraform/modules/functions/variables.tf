variable "project_id" {
  description = "The Google Cloud project."
  type        = string
}

variable "region" {
  description = "The region of the functions."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
}

variable "source_dir" {
  description = "The functions workspace (its package.json has main dist/index.js and gcp-build)."
  type        = string
}

variable "functions" {
  description = <<-EOT
    One entry per function target of functions/src/targets.ts. `invoker` says who alone may
    call it: the API gateway, Cloud Tasks (the order-worker) or Cloud Scheduler (the sweeper).
    null: these defaults.
  EOT
  nullable    = false
  type = map(object({
    invoker         = string
    min_instances   = optional(number, 0)
    max_instances   = optional(number, 100)
    concurrency     = optional(number, 80)
    cpu             = optional(string, "1")
    memory          = optional(string, "512Mi")
    timeout_seconds = optional(number, 60)
  }))
  default = {
    users          = { invoker = "gateway", concurrency = 8 }
    sales          = { invoker = "gateway" }
    orders         = { invoker = "gateway", min_instances = 1, concurrency = 250, cpu = "2", memory = "1Gi", timeout_seconds = 10 }
    "order-worker" = { invoker = "tasks", concurrency = 100 }
    sweeper        = { invoker = "scheduler", max_instances = 1, concurrency = 1, timeout_seconds = 300 }
  }
  validation {
    condition     = alltrue([for f in values(var.functions) : contains(["gateway", "tasks", "scheduler"], f.invoker)])
    error_message = "functions[*].invoker: gateway, tasks or scheduler."
  }
  validation {
    condition     = alltrue([for f in values(var.functions) : f.max_instances >= f.min_instances && f.concurrency >= 1 && f.concurrency <= 1000])
    error_message = "functions[*]: max_instances at least min_instances; concurrency from 1 to 1000."
  }
}

variable "connector_id" {
  description = "The Serverless VPC Access connector to Memorystore and Cloud SQL."
  type        = string
}

variable "secrets" {
  description = "Secret Manager secret ids: the stores' connection strings and the JWT signing key."
  type = object({
    database_url    = string
    redis_url       = string
    jwt_private_jwk = string
  })
}

variable "redis_ca_certificate" {
  description = "Memorystore's server CA (PEM), so the functions verify its TLS certificate."
  type        = string
}

variable "queue" {
  description = "The orders queue (queue module)."
  type = object({
    id              = string
    name            = string
    invoker_email   = string
    scheduler_email = string
  })
}

variable "sweep_schedule" {
  description = "How often Cloud Scheduler calls the sweeper (cron)."
  type        = string
  default     = "* * * * *"
}

variable "jwt" {
  description = "What tokens must say: their issuer and audience, and where their public keys are."
  type = object({
    issuer   = string
    audience = optional(string, "flash-sale")
  })
}

variable "admin_emails" {
  description = "Users who get role admin at login (not secret, but not committed: pass it per environment)."
  type        = list(string)
  default     = []
}

variable "settings" {
  description = "Further settings of functions/src/lib/config.ts for every function (rate limits, bounds)."
  type        = map(string)
  default     = {}
}
