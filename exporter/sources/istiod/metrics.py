"""The istiod metrics the failure modes need, parsed with prometheus_client's text parser.

Names differ across versions; all known spellings are kept and the checks pick what exists:
``pilot_rds_expired_nonce`` became ``pilot_xds_expired_nonce``; the outbound listener conflict gauges
(``pilot_conflict_outbound_listener_{tcp_over_current_tcp,http_over_current_tcp,tcp_over_current_http}``)
were removed in 1.19 except the first; ``pilot_xds_push_context_errors`` was removed in 1.26; the root
certificate expiry is ``citadel_server_root_cert_expiry_timestamp`` (older) or ``..._seconds`` (time left).
Counters appear only after their first event: absent means 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]

WANTED = frozenset(
    {
        "istio_build",
        "pilot_xds",
        "pilot_total_xds_rejects",
        "pilot_xds_cds_reject",
        "pilot_xds_eds_reject",
        "pilot_xds_lds_reject",
        "pilot_xds_rds_reject",
        "pilot_xds_expired_nonce",
        "pilot_rds_expired_nonce",
        "pilot_xds_push_context_errors",
        "pilot_total_rejected_configs",
        "pilot_eds_no_instances",
        "pilot_conflict_inbound_listener",
        "pilot_conflict_outbound_listener_tcp_over_current_tcp",
        "pilot_conflict_outbound_listener_http_over_current_tcp",
        "pilot_conflict_outbound_listener_tcp_over_current_http",
        "pilot_duplicate_envoy_clusters",
        "pilot_vservice_dup_domain",
        "pilot_proxy_convergence_time",
        "citadel_server_root_cert_expiry_timestamp",
        "citadel_server_root_cert_expiry_seconds",
        "sidecar_injection_requests_total",
        "sidecar_injection_failure_total",
    }
)


def _base(sample_name: str) -> str:
    for suffix in ("_bucket", "_sum", "_count", "_total"):
        if sample_name.endswith(suffix) and sample_name[: -len(suffix)] in WANTED:
            return sample_name[: -len(suffix)]
    return sample_name


@dataclass(frozen=True)
class IstiodMetrics:
    """Samples by sample name (``pilot_total_xds_rejects_total``, ``..._bucket``), labels sorted."""

    samples: dict[str, tuple[tuple[Labels, float], ...]]

    def get(self, name: str) -> tuple[tuple[Labels, float], ...]:
        return self.samples.get(name, ())

    def first(self, *names: str) -> tuple[str, tuple[tuple[Labels, float], ...]] | None:
        """The first of ``names`` that the replica exports (for renamed metrics)."""
        for name in names:
            if name in self.samples:
                return name, self.samples[name]
        return None

    def total(self, *names: str) -> float:
        return sum(v for name in names for _, v in self.get(name))

    def version(self) -> str:
        for labels, _ in self.get("istio_build"):
            d = dict(labels)
            if d.get("component") in (None, "pilot"):
                return d.get("tag", "")
        return ""


def parse_metrics(text: str) -> IstiodMetrics:
    """Raises ValueError on text that is not the Prometheus exposition format."""
    out: dict[str, list[tuple[Labels, float]]] = {}
    families: Iterable[object] = text_string_to_metric_families(text)
    for family in families:
        for sample in family.samples:  # type: ignore[attr-defined]
            if sample.name in WANTED or _base(sample.name) in WANTED:
                out.setdefault(sample.name, []).append((tuple(sorted(sample.labels.items())), float(sample.value)))
    return IstiodMetrics({k: tuple(v) for k, v in out.items()})
