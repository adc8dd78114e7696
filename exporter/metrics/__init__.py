"""Render the metrics body once per update; scrapes serve the stored bytes."""
