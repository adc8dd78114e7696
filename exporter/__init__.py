"""mesh-health-exporter: continuous monitoring of documented Istio and Jaeger failure modes."""

__version__ = "0.1.0"
