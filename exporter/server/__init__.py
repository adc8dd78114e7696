"""The HTTP server: /metrics, /healthz, /readyz and the status page."""
