"""The local testbed: real components built from package registries and started on loopback."""
