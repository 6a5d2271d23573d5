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
  default     = "europe-west1"
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
