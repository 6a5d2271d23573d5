terraform {
  required_version = ">= 1.6"
  required_providers {
    # One major each: 6.x, the schema tests/unit/terraform.test.ts checks every argument
    # against (@cdktf/provider-google-beta 16.x = google-beta 6.50). Direct VPC egress would
    # need ≥ 7.21 (docs/cloud.md §10); this deployment uses the VPC connector instead.
    google = {
      source  = "hashicorp/google"
      version = "~> 6.50"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 6.50"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.5"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.4"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.0"
    }
  }
}
