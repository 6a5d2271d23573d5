output "network_id" {
  description = "The VPC's id, for Memorystore and Cloud SQL."
  value       = google_compute_network.vpc.id
}

output "connector_id" {
  description = "The Serverless VPC Access connector, for the functions."
  value       = google_vpc_access_connector.functions.id
}

output "private_services_connection" {
  description = "The private service access peering; the data services wait for it."
  value       = google_service_networking_connection.private_services.id
}
