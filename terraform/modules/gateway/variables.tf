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

variable "public_functions" {
  description = "The functions behind the gateway (functions module output): name => { url, service }."
  type = map(object({
    url     = string
    service = string
  }))
  validation {
    condition     = alltrue([for name in ["users", "sales", "orders"] : contains(keys(var.public_functions), name)])
    error_message = "public_functions must hold users, sales and orders: openapi.yaml routes to all three."
  }
}

variable "jwt" {
  description = "The token issuer (the gateway's own URL once known, or a fixed host name) and audience."
  type = object({
    issuer   = string
    audience = optional(string, "flash-sale")
  })
}
