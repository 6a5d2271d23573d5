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

variable "cors_allowed_origins" {
  description = "Origins a browser may call the API from (the web client's https address)."
  type        = list(string)
  default     = []
}

variable "jwt_previous_public_keys" {
  description = "Public keys of replaced JWT signing keys, listed until their tokens expire (README, Deploy: rotation)."
  type        = list(string)
  default     = []
}

variable "alert_notification_channels" {
  description = "Notification channel ids (projects/<p>/notificationChannels/<id>) the sale-day alerts go to, e.g. an email channel made in the console; none: the console only."
  type        = list(string)
  default     = []
}
