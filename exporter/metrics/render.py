"""Build metric families from source states and check outcomes, and encode them once."""

from __future__ import annotations

import platform
from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client import exposition as text_exposition
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.openmetrics import exposition as om_exposition

from exporter import __version__
from exporter.build import revision
from exporter.catalog import METRICS
from exporter.catalog import exporter_health as health
from exporter.catalog.model import MetricSpec
from exporter.evaluate import CheckOutcome
from exporter.metrics.rendered import RenderedMetrics
from exporter.model import Finding, Sample, SourceView

MAX_ERROR_LABEL = 200


def _family(spec: MetricSpec[...]) -> GaugeMetricFamily | CounterMetricFamily:
    if spec.type == "counter":
        return CounterMetricFamily(spec.name, spec.help, labels=spec.labels)
    return GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)


def _sample_families(samples: Iterable[Sample]) -> list[Metric]:
    families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {}
    for s in samples:
        spec = METRICS[s.metric]
        fam = families.get(s.metric)
        if fam is None:
            fam = families[s.metric] = _family(spec)
        labels = dict(s.labels)
        if tuple(labels) != spec.labels:
            raise ValueError(f"{s.metric}: labels {tuple(labels)} differ from the catalogue's {spec.labels}")
        fam.add_metric([labels[k] for k in spec.labels], s.value)
    return list(families.values())


def _finding_families(outcomes: Sequence[CheckOutcome], cap: int) -> list[Metric]:
    up = _family(health.CHECK_UP)
    counts = _family(health.CHECK_FINDINGS)
    suppressed = _family(health.FINDINGS_SUPPRESSED)
    per_finding = _family(health.FINDING)
    for o in outcomes:
        up.add_metric([o.check], 1.0 if o.up else 0.0)
        if not o.served:
            continue
        findings = sorted(o.result.findings, key=lambda f: (-f.severity, f.namespace, f.kind, f.name))
        unique: dict[tuple[str, str, str, str], Finding] = {}
        for f in findings:
            unique.setdefault((f.severity.label, f.namespace, f.kind, f.name), f)
        counts.add_metric([o.check], float(len(findings)))
        suppressed.add_metric([o.check], float(max(0, len(unique) - cap)))
        for key in list(unique)[:cap]:
            per_finding.add_metric([o.check, *key], 1.0)
    return [up, counts, suppressed, per_finding]


def _source_families(sources: Sequence[SourceView]) -> list[Metric]:
    up = _family(health.SOURCE_UP)
    last = _family(health.SOURCE_LAST_SUCCESS_TIMESTAMP_SECONDS)
    duration = _family(health.SOURCE_REFRESH_DURATION_SECONDS)
    errors = _family(health.SOURCE_ERRORS)
    info = _family(health.SOURCE_ERROR_INFO)
    for s in sources:
        key = [s.name, s.instance]
        up.add_metric(key, 1.0 if s.up else 0.0)
        if s.last_success is not None:
            last.add_metric(key, s.last_success)
        if s.duration is not None:
            duration.add_metric(key, s.duration)
        for reason, count in sorted(s.errors.items()):
            errors.add_metric([*key, reason], float(count))
        if not s.up and s.error:
            info.add_metric([*key, s.error_reason, s.error[:MAX_ERROR_LABEL]], 1.0)
    resource_up = _family(health.KUBE_RESOURCE_UP)
    objects = _family(health.KUBE_OBJECTS)
    lists = _family(health.KUBE_LISTS)
    events = _family(health.KUBE_WATCH_EVENTS)
    projection = _family(health.KUBE_PROJECTION_ERRORS)
    for s in sources:
        for r in s.resources:
            resource_up.add_metric([r.resource], 1.0 if r.up else 0.0)
            objects.add_metric([r.resource], float(r.objects))
            lists.add_metric([r.resource, "success"], float(r.lists))
            lists.add_metric([r.resource, "error"], float(r.list_errors))
            events.add_metric([r.resource], float(r.watch_events))
            projection.add_metric([r.resource], float(r.projection_errors))
    return [up, last, duration, errors, info, resource_up, objects, lists, events, projection]


def build_families(
    sources: Sequence[SourceView],
    outcomes: Sequence[CheckOutcome],
    max_findings_per_check: int,
    loop_lag: float | None = None,
    update: tuple[float, int] | None = None,
) -> list[Metric]:
    """``update``: the previous update's duration and the refreshes coalesced so far (the exporter's own load)."""
    build = InfoMetricFamily("meshhealth_build", health.BUILD.help)
    build.add_metric([], {"version": __version__, "revision": revision(), "python_version": platform.python_version()})
    samples = [s for o in outcomes if o.served for s in o.result.samples]
    own: list[Metric] = []
    if loop_lag is not None:
        lag = _family(health.EVENT_LOOP_LAG)
        lag.add_metric([], loop_lag)
        own.append(lag)
    if update is not None:
        duration = _family(health.UPDATE_DURATION)
        duration.add_metric([], update[0])
        coalesced = _family(health.UPDATES_COALESCED)
        coalesced.add_metric([], update[1])
        own += [duration, coalesced]
    return [
        build,
        *own,
        *_source_families(sources),
        *_finding_families(outcomes, max_findings_per_check),
        *_sample_families(samples),
    ]


class _Static:
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> list[Metric]:
        return self._families


def render(families: list[Metric], process_metrics: bool = True) -> RenderedMetrics:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Static(families))
    if process_metrics:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
    openmetrics = om_exposition.generate_latest(registry)  # type: ignore[no-untyped-call]
    return RenderedMetrics(text_exposition.generate_latest(registry), openmetrics)
