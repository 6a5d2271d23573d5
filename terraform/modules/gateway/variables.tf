variable "project_id" {
  description = "The Google Cloud project."
  type        = string
}

variable "region" {
  description = "The region of the gateway."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
}

variable "openapi_file" {
  description = "openapi.yaml: the routes, with $${...} placeholders for the backends and the JWT settings."
  type        = string
}

variable "labels" {
  description = "Labels of every resource that takes them."
  type        = map(string)
  default     = {}
}

variable "backends" {
  description = "The functions behind the gateway (functions module output): name => { url (run.app, no trailing slash), service, invoker }."
  type = map(object({
    url     = string
    service = string
    invoker = string
  }))
  validation {
    condition     = alltrue([for name in ["users", "sales", "orders", "jwks"] : contains(keys(var.backends), name)])
    error_message = "backends must hold users, sales, orders and jwks: openapi.yaml routes to all four."
  }
}

variable "jwt" {
  description = "The token issuer (the gateway's own URL once known, or a fixed host name) and audience."
  type = object({
    issuer   = string
    audience = optional(string, "flash-sale")
  })
}
