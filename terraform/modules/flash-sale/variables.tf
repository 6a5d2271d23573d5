variable "project_id" {
  description = "The Google Cloud project to deploy into."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id: a Google Cloud project id."
  }
}

variable "region" {
  description = "The region of everything (Cloud Functions, Memorystore, Cloud SQL, Cloud Tasks, API Gateway)."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name, e.g. flash-sale-prod."
  type        = string
}

variable "jwt_issuer" {
  description = "The `iss` of access tokens: the gateway's URL (known after the first apply) or your API's own host name."
  type        = string
  validation {
    condition     = can(regex("^https://", var.jwt_issuer))
    error_message = "jwt_issuer: an https:// URL."
  }
}

variable "functions_source_dir" {
  description = "The functions workspace to deploy."
  type        = string
}

variable "openapi_file" {
  description = "openapi.yaml, the gateway's routes."
  type        = string
}

variable "labels" {
  description = "Extra labels of every resource that takes them (app and deployment are always set)."
  type        = map(string)
  default     = {}
}

variable "cors_allowed_origins" {
  description = "Origins a browser may call the API from (CORS_ALLOWED_ORIGINS), e.g. the web client's https address."
  type        = list(string)
  default     = []
}

variable "jwt_previous_public_keys" {
  description = "SPKI PEM public keys of replaced signing keys, still listed in the JWKS until their tokens expire (README, Deploy: rotation)."
  type        = list(string)
  default     = []
}

variable "settings" {
  description = "Further settings of functions/src/lib/config.ts for every function (rate limits, bounds, FORWARDED_FOR_HOP)."
  type        = map(string)
  default     = {}
}

# The objects below mirror the modules' own types; an attribute left out (null) takes the
# module's default, so the defaults live in one place.

variable "connector" {
  description = "The Serverless VPC Access connector's range, size and machine (network module); empty: its defaults."
  type = object({
    ip_cidr_range = optional(string)
    min_instances = optional(number)
    max_instances = optional(number)
    machine_type  = optional(string)
  })
  default = {}
}

variable "redis" {
  description = "Memorystore sizing (data module); empty: the module's production defaults."
  type = object({
    tier           = optional(string)
    memory_size_gb = optional(number)
    redis_version  = optional(string)
  })
  default = {}
}

variable "postgres" {
  description = "Cloud SQL sizing (data module); empty: the module's production defaults."
  type = object({
    database_version    = optional(string)
    edition             = optional(string)
    tier                = optional(string)
    availability_type   = optional(string)
    disk_size_gb        = optional(number)
    backup_start_time   = optional(string)
    retained_backups    = optional(number)
    deletion_protection = optional(bool)
    max_connections     = optional(number)
  })
  default = {}
}

variable "orders_queue" {
  description = "The orders queue's rates and retries (queue module); empty: its defaults."
  type = object({
    max_dispatches_per_second = optional(number)
    max_concurrent_dispatches = optional(number)
    max_attempts              = optional(number)
    min_backoff               = optional(string)
    max_backoff               = optional(string)
    max_doublings             = optional(number)
  })
  default = {}
}

variable "source_bucket" {
  description = "How long the functions' source bucket keeps archives (functions module); empty: its defaults."
  type = object({
    noncurrent_days = optional(number)
    archive_days    = optional(number)
    force_destroy   = optional(bool)
  })
  default = {}
}

variable "functions" {
  description = "Per-function sizing and invokers (functions module); null: its defaults, every target."
  type = map(object({
    invoker         = string
    stores          = optional(bool)
    pool_size       = optional(number)
    min_instances   = optional(number)
    max_instances   = optional(number)
    concurrency     = optional(number)
    cpu             = optional(string)
    memory          = optional(string)
    timeout_seconds = optional(number)
  }))
  default = null
}

variable "alert_notification_channels" {
  description = "Notification channel ids (projects/<p>/notificationChannels/<id>) the sale-day alerts go to; none: they show in the console only."
  type        = list(string)
  default     = []
}
