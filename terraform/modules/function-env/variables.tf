variable "name" {
  description = "Prefix of every resource name; a function is named <name>-<target>."
  type        = string
}

variable "project_id" {
  description = "The Google Cloud project (TASKS_PROJECT)."
  type        = string
}

variable "project_number" {
  description = "The project's number: part of every run.app URL."
  type        = string
}

variable "region" {
  description = "The functions' region (and the queue's)."
  type        = string
}

variable "jwt" {
  description = "The access tokens' issuer and audience."
  type = object({
    issuer   = string
    audience = string
  })
}

variable "cors_allowed_origins" {
  description = "Origins a browser may call the API from (CORS_ALLOWED_ORIGINS)."
  type        = list(string)
}

variable "redis_ca" {
  description = "Memorystore's server CAs, PEM, all of them (several during a rotation)."
  type        = string
}

variable "database_ca" {
  description = "Cloud SQL's server CA, PEM (DATABASE_CA: TLS verified against it)."
  type        = string
}

variable "queue_name" {
  description = "The orders queue's short name (TASKS_QUEUE)."
  type        = string
}

variable "tasks_invoker_email" {
  description = "The account Cloud Tasks signs its pushes as (TASKS_SERVICE_ACCOUNT)."
  type        = string
}

variable "jwt_public_keys" {
  description = "SPKI PEM public keys, the current one first (JWT_PUBLIC_KEYS of the jwks function)."
  type        = string
}

variable "settings" {
  description = "Further settings of functions/src/lib/config.ts for every function; they win over the computed ones."
  type        = map(string)
}

variable "functions" {
  description = "Per function target: its invoker kind, whether it uses the stores, and its PostgreSQL pool size."
  type = map(object({
    invoker   = string
    stores    = bool
    pool_size = number
  }))
  validation {
    condition     = contains(keys(var.functions), "jwks") && contains(keys(var.functions), "order-worker")
    error_message = "functions must hold jwks and order-worker: every function names their URLs."
  }
}

variable "secrets" {
  description = "Secret Manager secrets, each pinned to the version this apply created."
  type = object({
    database_url    = object({ secret = string, version = string })
    redis_url       = object({ secret = string, version = string })
    jwt_private_key = object({ secret = string, version = string })
  })
}
