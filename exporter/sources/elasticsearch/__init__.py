"""Elasticsearch / OpenSearch holding Jaeger's spans: health, disk, blocks and Jaeger indices."""
