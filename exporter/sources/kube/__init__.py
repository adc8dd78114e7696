"""Kubernetes: list/watch informers that keep only the fields the checks need."""
