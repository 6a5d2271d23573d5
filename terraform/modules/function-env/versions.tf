# No provider: this module only computes values.
terraform {
  required_version = ">= 1.6"
}
