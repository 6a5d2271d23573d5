variable "project_id" {
  description = "The Google Cloud project."
  type        = string
}

variable "region" {
  description = "The region of every regional resource."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
}

variable "network_id" {
  description = "The VPC both services get a private address on."
  type        = string
}

variable "private_services_connection" {
  description = "The private service access peering (from the network module); both services need it first."
  type        = string
}

variable "labels" {
  description = "Labels of every resource that takes them."
  type        = map(string)
  default     = {}
}

variable "redis" {
  description = "Memorystore for Redis: the stock tokens. noeviction, so a key is never dropped to make room."
  type = object({
    tier           = optional(string, "STANDARD_HA")
    memory_size_gb = optional(number, 5)
    redis_version  = optional(string, "REDIS_7_2")
  })
  default = {}
  validation {
    condition     = contains(["BASIC", "STANDARD_HA"], var.redis.tier)
    error_message = "redis.tier: BASIC or STANDARD_HA."
  }
  validation {
    condition     = var.redis.memory_size_gb >= 1 && var.redis.memory_size_gb <= 300
    error_message = "redis.memory_size_gb: from 1 to 300."
  }
}

variable "postgres" {
  description = "Cloud SQL for PostgreSQL: the source of truth."
  type = object({
    database_version    = optional(string, "POSTGRES_16")
    edition             = optional(string, "ENTERPRISE")
    tier                = optional(string, "db-custom-2-7680")
    availability_type   = optional(string, "REGIONAL")
    disk_size_gb        = optional(number, 20)
    backup_start_time   = optional(string, "03:00")
    retained_backups    = optional(number, 14)
    deletion_protection = optional(bool, true)
    max_connections     = optional(number, 400)
  })
  default = {}
  validation {
    condition     = contains(["ZONAL", "REGIONAL"], var.postgres.availability_type)
    error_message = "postgres.availability_type: ZONAL or REGIONAL."
  }
  validation {
    # docs/cloud.md §9: ENTERPRISE takes db-f1-micro, db-g1-small and db-custom-CPU-MB;
    # ENTERPRISE_PLUS only db-perf-optimized-N-*. Anything else is a 400 at apply.
    condition = (
      (var.postgres.edition == "ENTERPRISE" && can(regex("^db-(f1-micro|g1-small|custom-[0-9]+-[0-9]+)$", var.postgres.tier))) ||
      (var.postgres.edition == "ENTERPRISE_PLUS" && can(regex("^db-perf-optimized-N-[0-9]+$", var.postgres.tier)))
    )
    error_message = "postgres.edition and postgres.tier: ENTERPRISE with db-f1-micro, db-g1-small or db-custom-CPU-MB; ENTERPRISE_PLUS with db-perf-optimized-N-*."
  }
  validation {
    condition     = can(regex("^POSTGRES_1[5-9]$", var.postgres.database_version))
    error_message = "postgres.database_version: POSTGRES_15 or newer."
  }
}
