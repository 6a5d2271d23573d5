variable "project_id" {
  description = "The Google Cloud project."
  type        = string
}

variable "project_number" {
  description = "The project's number: part of each function's run.app URL."
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

variable "labels" {
  description = "Labels of every resource that takes them."
  type        = map(string)
  default     = {}
}

variable "source_dir" {
  description = "The staged functions workspace (scripts/deploy/stage-functions.ts): package.json with main dist/index.js, package-lock.json, dist/, lua/, migrations/."
  type        = string
}

variable "source_bucket" {
  description = "How long the source bucket keeps archives: noncurrent (overwritten or deleted) versions, and any archive at all."
  type = object({
    noncurrent_days = optional(number, 30)
    archive_days    = optional(number, 365)
    force_destroy   = optional(bool, false)
  })
  default  = {}
  nullable = false
}

variable "functions" {
  description = <<-EOT
    One entry per function target of functions/src/targets.ts. `invoker` says who alone may
    call it: the API gateway, Cloud Tasks (the order-worker), Cloud Scheduler (the sweeper) or
    anyone ("public": jwks only). `stores`: it uses Redis and PostgreSQL (VPC connector,
    secrets, migrations); `pool_size`: its PostgreSQL pool per instance (DATABASE_POOL_SIZE).
    null: these defaults.
  EOT
  nullable    = false
  type = map(object({
    invoker         = string
    stores          = optional(bool, true)
    pool_size       = optional(number, 10)
    min_instances   = optional(number, 0)
    max_instances   = optional(number, 100)
    concurrency     = optional(number, 80)
    cpu             = optional(string, "1")
    memory          = optional(string, "512Mi")
    timeout_seconds = optional(number, 60)
  }))
  default = {
    users          = { invoker = "gateway", concurrency = 8, max_instances = 20, pool_size = 4 }
    sales          = { invoker = "gateway", max_instances = 20, pool_size = 4 }
    orders         = { invoker = "gateway", min_instances = 1, max_instances = 30, pool_size = 3, concurrency = 250, cpu = "2", memory = "1Gi", timeout_seconds = 10 }
    "order-worker" = { invoker = "tasks", concurrency = 100, max_instances = 10, pool_size = 8 }
    sweeper        = { invoker = "scheduler", max_instances = 1, pool_size = 2, concurrency = 1, timeout_seconds = 300 }
    jwks           = { invoker = "public", stores = false, max_instances = 10, memory = "256Mi" }
  }
  validation {
    condition     = alltrue([for f in values(var.functions) : contains(["gateway", "tasks", "scheduler", "public"], f.invoker)])
    error_message = "functions[*].invoker: gateway, tasks, scheduler or public."
  }
  validation {
    condition     = alltrue([for name, f in var.functions : f.invoker != "public" || (name == "jwks" && !f.stores)])
    error_message = "Only jwks may be public (anyone may call it), and it must not use the stores."
  }
  validation {
    condition     = alltrue([for f in values(var.functions) : f.max_instances >= f.min_instances && f.concurrency >= 1 && f.concurrency <= 1000 && f.pool_size >= 1])
    error_message = "functions[*]: max_instances at least min_instances; concurrency from 1 to 1000; pool_size at least 1."
  }
}

variable "database_max_connections" {
  description = "PostgreSQL's max_connections (data module): the functions' pools must fit in it."
  type        = number
}

variable "connector_id" {
  description = "The Serverless VPC Access connector to Memorystore and Cloud SQL."
  type        = string
}

variable "secrets" {
  description = "Secret Manager secrets, each pinned to the version this apply created."
  type = object({
    database_url    = object({ secret = string, version = string })
    redis_url       = object({ secret = string, version = string })
    jwt_private_key = object({ secret = string, version = string })
  })
}

variable "redis_ca" {
  description = "Memorystore's server CAs (PEM, every one of them), so the functions verify its TLS certificate."
  type        = string
}

variable "database_ca" {
  description = "Cloud SQL's server CA (PEM): DATABASE_CA."
  type        = string
}

variable "jwt_public_keys" {
  description = "SPKI PEM public keys of the token signers, the current one first (jwks function)."
  type        = string
}

variable "cors_allowed_origins" {
  description = "Origins a browser may call the API from."
  type        = list(string)
  default     = []
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
  description = "What tokens must say: their issuer and audience."
  type = object({
    issuer   = string
    audience = optional(string, "flash-sale")
  })
}

variable "settings" {
  description = "Further settings of functions/src/lib/config.ts for every function (rate limits, bounds)."
  type        = map(string)
  default     = {}
}
