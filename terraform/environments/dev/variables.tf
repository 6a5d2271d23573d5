variable "project_id" {
  description = "The Google Cloud project to deploy into."
  type        = string
}

variable "region" {
  description = "The region of everything (Cloud Functions, Memorystore, Cloud SQL, Cloud Tasks, API Gateway)."
  type        = string
  default     = "europe-west1"
}

variable "jwt_issuer" {
  description = "The `iss` of access tokens: the gateway's URL (known after the first apply) or your API's own host name."
  type        = string
}

variable "admin_emails" {
  description = "Emails of the users who administer products and sales."
  type        = list(string)
  default     = []
}
