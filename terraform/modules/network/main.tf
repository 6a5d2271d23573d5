# The private network: a VPC the data services live on (private service access), and the
# connector through which the serverless functions reach them.

resource "google_compute_network" "vpc" {
  project                 = var.project_id
  name                    = "${var.name}-vpc"
  auto_create_subnetworks = false
}

resource "google_compute_global_address" "private_services" {
  project       = var.project_id
  name          = "${var.name}-private-services"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = 16
  network       = google_compute_network.vpc.id
}

resource "google_service_networking_connection" "private_services" {
  network                 = google_compute_network.vpc.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services.name]
  # Cloud SQL keeps its producer resources a while after the instance is gone, so deleting
  # the connection fails and blocks `terraform destroy`; abandon it (the peering then goes
  # by hand: README, Deploy).
  deletion_policy = "ABANDON"
}

resource "google_vpc_access_connector" "functions" {
  project       = var.project_id
  region        = var.region
  name          = "${substr(var.name, 0, 20)}-vpc"
  network       = google_compute_network.vpc.name
  ip_cidr_range = var.connector.ip_cidr_range
  min_instances = var.connector.min_instances
  max_instances = var.connector.max_instances
  machine_type  = var.connector.machine_type
}
