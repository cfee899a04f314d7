"""Channel adapters and the narrow port they implement."""
