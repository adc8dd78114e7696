"""Tracing pieces of the testbed: a real Elasticsearch node (Maven Central), Jaeger's v1 collector and Jaeger v2
(the OpenTelemetry Collector distribution, ``cmd/jaeger``), both built from the same pinned Jaeger module."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from testbed.processes import BIN, CACHE, ComponentError, ManagedProcess, free_port

FLAVOURS = {
    # name: (runner cache dir, launcher class)
    "elasticsearch": (CACHE / "es-7.10", "meshhealth.EsRunner"),
    "opensearch": (CACHE / "os-2.19", "meshhealth.OsRunner"),
}


class Elasticsearch:
    """One Elasticsearch 7.10.2 or OpenSearch 2.19.1 node (codelibs runners), data in a temporary directory."""

    def __init__(self, workdir: Path | None = None, flavour: str = "elasticsearch") -> None:
        self.flavour = flavour
        self.runner_dir, main_class = FLAVOURS[flavour]
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix=f"meshhealth-{flavour}-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        java = shutil.which("java") or "java"
        self.process = ManagedProcess(
            flavour,
            [java, "-Xms512m", "-Xmx512m", "-cp", f"{self.runner_dir / 'classes'}:{self.runner_dir / 'lib'}/*",
             main_class, str(self.workdir / "data"), str(self.port), str(free_port())],
            self.workdir,
        )  # fmt: skip

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"{method} {path}: HTTP {err.code} {err.read()[:300]!r}") from None

    def _ready(self) -> bool:
        return self.request("GET", "/_cluster/health").get("status") in ("green", "yellow")

    def start(self, timeout: float = 180) -> Elasticsearch:
        if not (self.runner_dir / ".stamp").exists():
            raise ComponentError(f"{self.flavour}: runner missing; run `bash testbed/build.sh elasticsearch`")
        self.process.start()
        self.process.wait_until(self._ready, timeout, "serving HTTP")
        # Byte watermarks (free space), so that a healthy node does not depend on how full the host's disk is:
        # the default 90 % high watermark is already reached on a large disk with 10 % free. Tests that need
        # a watermark reached override these with transient settings and clear them afterwards.
        prefix = "cluster.routing.allocation.disk.watermark"
        self.request("PUT", "/_cluster/settings", {"persistent": {
            f"{prefix}.low": "2gb", f"{prefix}.high": "1gb", f"{prefix}.flood_stage": "512mb"}})  # fmt: skip
        return self

    def set_watermarks(self, low: str | None, high: str | None, flood: str | None) -> None:
        prefix = "cluster.routing.allocation.disk.watermark"
        self.request("PUT", "/_cluster/settings", {"transient": {
            f"{prefix}.low": low, f"{prefix}.high": high, f"{prefix}.flood_stage": flood,
            "cluster.info.update.interval": "10s"}})  # fmt: skip

    def stop(self) -> None:
        self.process.stop()


class JaegerCollector:
    """Jaeger v1 collector writing to Elasticsearch; OTLP/HTTP in, Prometheus metrics on the admin port."""

    def __init__(self, es: Elasticsearch, prefix: str = "", workdir: Path | None = None) -> None:
        self.workdir = workdir or es.workdir / f"jaeger-{prefix or 'default'}"
        self.otlp_http = free_port()
        self.admin = free_port()
        self.prefix = prefix
        args = [
            str(BIN / "jaeger-collector"),
            f"--es.server-urls={es.url}", "--es.num-shards=1", "--es.num-replicas=0", "--es.bulk.flush-interval=200ms",
            f"--collector.otlp.http.host-port=127.0.0.1:{self.otlp_http}",
            f"--collector.otlp.grpc.host-port=127.0.0.1:{free_port()}",
            f"--collector.grpc-server.host-port=127.0.0.1:{free_port()}",
            f"--collector.http-server.host-port=127.0.0.1:{free_port()}",
            f"--admin.http.host-port=127.0.0.1:{self.admin}",
        ]  # fmt: skip
        if prefix:
            args.append(f"--es.index-prefix={prefix}")
        self.process = ManagedProcess(f"jaeger-collector-{prefix or 'default'}", args, self.workdir,
                                      env={"SPAN_STORAGE_TYPE": "elasticsearch"})  # fmt: skip

    def _ready(self) -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin}/", timeout=2) as resp:
            return bool(resp.status == 200)

    def start(self, timeout: float = 60) -> JaegerCollector:
        self.process.start()
        self.process.wait_until(self._ready, timeout, "serving its admin port")
        return self

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin}/metrics", timeout=5) as resp:
            return str(resp.read().decode())

    def send_spans(self, service: str, count: int = 5) -> None:
        send_otlp_spans(self.otlp_http, service, count)

    def stop(self) -> None:
        self.process.stop()


def send_otlp_spans(port: int, service: str, count: int = 5) -> None:
    """Real OTLP/HTTP export with the OpenTelemetry SDK."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces", timeout=10)))  # fmt: skip
    tracer = provider.get_tracer("meshhealth-testbed")
    for i in range(count):
        with tracer.start_as_current_span(f"GET /item/{i}"):
            time.sleep(0.001)
    provider.shutdown()


class JaegerV2:
    """Jaeger v2 (``cmd/jaeger``): OTLP/HTTP in, the jaeger_storage extension writing to Elasticsearch or
    OpenSearch, the Collector's own metrics (``otelcol_*``, ``jaeger_storage_*``) on a Prometheus endpoint."""

    def __init__(self, es: Elasticsearch, prefix: str = "", workdir: Path | None = None) -> None:
        self.workdir = workdir or es.workdir / f"jaeger-v2-{prefix or 'default'}"
        self.otlp_http = free_port()
        self.metrics_port = free_port()
        self.health = free_port()
        self.prefix = prefix
        one_shard = {"shards": 1, "replicas": 0}
        backend = {
            "server_urls": [es.url],
            "indices": {"index_prefix": prefix, "spans": one_shard, "services": one_shard},
            "bulk_processing": {"flush_interval": "200ms"},
        }
        config = {
            "service": {
                "extensions": ["jaeger_storage", "healthcheckv2"],
                "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["batch"],
                                         "exporters": ["jaeger_storage_exporter"]}},
                "telemetry": {"metrics": {"level": "detailed", "readers": [{"pull": {"exporter": {"prometheus": {
                    "host": "127.0.0.1", "port": self.metrics_port}}}}]}},
            },
            "extensions": {
                "healthcheckv2": {"use_v2": True, "http": {"endpoint": f"127.0.0.1:{self.health}"}},
                # OpenSearch has its own backend type in v2 (v1 uses the Elasticsearch client for both)
                "jaeger_storage": {"backends": {"store": {es.flavour: backend}}},
            },
            "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{self.otlp_http}"}}}},
            "processors": {"batch": {"timeout": "200ms"}},
            # a sending queue, so that otelcol_exporter_queue_size/capacity exist (TR09)
            "exporters": {"jaeger_storage_exporter": {
                "trace_storage": "store", "queue": {"enabled": True, "num_consumers": 2, "queue_size": 1000}}},
        }  # fmt: skip
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        self.process = ManagedProcess(f"jaeger-v2-{prefix or 'default'}",
                                      [str(BIN / "jaeger"), "--config", f"file:{path}"], self.workdir)  # fmt: skip

    def _ready(self) -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.health}/status", timeout=2) as resp:
            return bool(resp.status == 200) and "otelcol_exporter_queue_capacity" in self.metrics()

    def start(self, timeout: float = 60) -> JaegerV2:
        if not (BIN / "jaeger").exists():
            raise ComponentError("jaeger v2: binary missing; run `bash testbed/build.sh jaeger`")
        self.process.start()
        self.process.wait_until(self._ready, timeout, "healthy, serving its metrics")
        return self

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as resp:
            return str(resp.read().decode())

    def send_spans(self, service: str, count: int = 5) -> None:
        send_otlp_spans(self.otlp_http, service, count)

    def stop(self) -> None:
        self.process.stop()
