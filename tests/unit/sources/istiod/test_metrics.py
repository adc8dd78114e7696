"""istiod's /metrics reduced to the families the checks read, under every name Istio has used."""

from __future__ import annotations

import pytest

from exporter.sources.istiod.metrics import parse_metrics

BODY = """# TYPE istio_build gauge
istio_build{component="proxy",tag="9.9.9"} 1
istio_build{component="pilot",tag="1.29.2"} 1
# TYPE pilot_total_xds_rejects counter
pilot_total_xds_rejects_total{type="cds"} 2
pilot_total_xds_rejects_created{type="cds"} 1.7e9
# TYPE pilot_proxy_convergence_time histogram
pilot_proxy_convergence_time_bucket{le="0.1"} 3
pilot_proxy_convergence_time_bucket{le="+Inf"} 4
pilot_proxy_convergence_time_sum 0.5
pilot_proxy_convergence_time_count 4
# TYPE go_goroutines gauge
go_goroutines 12
# TYPE other_total counter
other_total 3
# TYPE sidecar_injection_requests_total counter
sidecar_injection_requests_total 5
"""


def test_cp03_cp08_only_the_wanted_families_and_their_suffixed_samples():
    m = parse_metrics(BODY)
    assert sorted(m.samples) == [
        "istio_build", "pilot_proxy_convergence_time_bucket", "pilot_proxy_convergence_time_count",
        "pilot_proxy_convergence_time_sum", "pilot_total_xds_rejects_total", "sidecar_injection_requests_total"]  # fmt: skip
    assert m.get("pilot_proxy_convergence_time_bucket") == (((("le", "0.1"),), 3.0), ((("le", "+Inf"),), 4.0))
    assert m.total("pilot_total_xds_rejects_total", "sidecar_injection_requests_total") == 7.0
    assert m.first("nope", "pilot_total_xds_rejects_total") == (
        "pilot_total_xds_rejects_total",
        (((("type", "cds"),), 2.0),),
    )
    assert m.first("nope") is None and m.get("nope") == () and m.total("nope") == 0


@pytest.mark.parametrize(
    ("body", "version"),
    [
        (BODY, "1.29.2"),
        ('istio_build{tag="1.6.10"} 1\n', "1.6.10"),
        ('istio_build{component="proxy",tag="1.20.0"} 1\n', ""),
        ('istio_build{component="pilot"} 1\n', ""),
        ("", ""),
    ],
)
def test_mh02_dp03_version_from_the_pilot_build_info(body, version):
    assert parse_metrics(body).version() == version


def test_only_known_suffixes_of_wanted_families_are_kept():
    m = parse_metrics("istio_build_ignore 1\npilot_xds_bucketX 2\npilot_xds 3\n")
    assert sorted(m.samples) == ["pilot_xds"]
