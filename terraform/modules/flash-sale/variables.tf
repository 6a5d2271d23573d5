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

variable "admin_emails" {
  description = "Emails of the users who administer products and sales."
  type        = list(string)
  default     = []
}

variable "functions_source_dir" {
  description = "The functions workspace to deploy."
  type        = string
}

variable "openapi_file" {
  description = "openapi.yaml, the gateway's routes."
  type        = string
}

variable "redis" {
  description = "Memorystore sizing (data module); null: the module's production defaults."
  type        = any
  default     = {}
}

variable "postgres" {
  description = "Cloud SQL sizing (data module); empty: the module's production defaults."
  type        = any
  default     = {}
}

variable "orders_queue" {
  description = "The orders queue's rates and retries (queue module); empty: its defaults."
  type        = any
  default     = {}
}

variable "functions" {
  description = "Per-function sizing and invokers (functions module); null: its defaults, every target."
  type        = any
  default     = null
}
