"""Sources talk to the outside world and return plain, immutable data."""
