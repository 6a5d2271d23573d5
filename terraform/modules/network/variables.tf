variable "project_id" {
  description = "The Google Cloud project."
  type        = string
}

variable "region" {
  description = "The region of every regional resource."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name, e.g. flash-sale-prod."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name))
    error_message = "name: 3 to 21 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "connector" {
  description = "The Serverless VPC Access connector the functions reach Memorystore and Cloud SQL through."
  type = object({
    ip_cidr_range = optional(string, "10.8.0.0/28")
    min_instances = optional(number, 2)
    max_instances = optional(number, 10)
    machine_type  = optional(string, "e2-standard-4")
  })
  default = {}
  validation {
    condition     = var.connector.min_instances >= 2 && var.connector.max_instances > var.connector.min_instances
    error_message = "connector: at least 2 instances, and max_instances above min_instances."
  }
  validation {
    condition     = contains(["f1-micro", "e2-micro", "e2-standard-4"], var.connector.machine_type)
    error_message = "connector.machine_type: f1-micro, e2-micro or e2-standard-4 (what Serverless VPC Access offers)."
  }
}
