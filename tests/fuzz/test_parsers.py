"""Every parser of upstream answers, fed arbitrary and near-valid input, either returns or raises the one error
its caller handles (which then reports the source or object as unreadable). Anything else would take a
refresh down with an unexplained error."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from exporter.config import ConfigError, load_settings
from exporter.sources.elasticsearch.parse import (
    LEVELS,
    ClusterSettings,
    free_bytes_threshold,
    least_available_paths,
    parse_blocks,
    parse_cat_indices,
    parse_index,
)
from exporter.sources.errors import SourceError
from exporter.sources.istiod.metrics import parse_metrics
from exporter.sources.istiod.parser_process import parse_plain
from exporter.sources.istiod.syncz import TYPE_URLS, adopt, parse_syncz, to_plain
from exporter.sources.kube import projections as p
from exporter.sources.kube.client import _parse_event

scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=True) | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)


def near(vocabulary: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects using the real field names with arbitrary values (closer to real answers than pure noise)."""
    return st.dictionaries(st.sampled_from(vocabulary) | st.text(max_size=8), json_values, max_size=len(vocabulary))


# --- istiod ------------------------------------------------------------------------------------------------

SYNCZ_FIELDS = [
    "proxy",
    "cluster_id",
    "proxy_type",
    "istio_version",
    "resources",
    *(f"{p}_{s}" for p in ("cluster", "listener", "route", "endpoint", "extensionconfig") for s in ("sent", "acked")),
]
RESOURCE = near(["sent", "acked", "sentTime", "lastError"])
SYNCZ_ENTRY = near(SYNCZ_FIELDS) | st.fixed_dictionaries(
    {"proxy": st.text(max_size=20), "resources": st.dictionaries(st.sampled_from(list(TYPE_URLS)), RESOURCE)}
)  # fmt: skip


@given(st.lists(SYNCZ_ENTRY, max_size=6) | json_values)
def test_syncz(data):
    with contextlib.suppress(ValueError):
        parse_syncz(data)


@given(st.lists(SYNCZ_ENTRY, max_size=6), st.lists(SYNCZ_ENTRY, max_size=6))
def test_syncz_through_the_parser_process_form_is_the_same(first, second):
    """What serve's parser process sends back (plain tuples, ``parse_plain``) and ``adopt`` turns into proxies equals
    the in-process parse, also when the previous poll's proxies are kept (a proxy ID seen twice keeps either)."""
    try:
        expected = parse_syncz(second)
    except ValueError:
        expected = None
    if expected is None:  # refused in-process: refused by the child's parse too
        with pytest.raises(ValueError, match=r"."):
            parse_plain(json.dumps(second).encode())
        return
    with contextlib.suppress(ValueError):
        previous = {p.proxy: p for p in parse_syncz(first)}
        assert adopt(to_plain(expected), previous) == expected
    assert adopt(parse_plain(json.dumps(second).encode())) == expected


METRIC_LINES = st.sampled_from([
    "# TYPE pilot_total_xds_rejects counter", 'pilot_total_xds_rejects{type="lds"} 4', "istio_build{tag=\"1.29.2\"} 1",
    "pilot_proxy_convergence_time_bucket{le=\"+Inf\"} 3", "# HELP x y", "x 1e400", "x{", "x{a=\"\\\"}", "x NaN",
    '{a="b"} 1', "x 1 2 3",
]) | st.text(max_size=40)  # fmt: skip


@given(st.lists(METRIC_LINES, max_size=8))
def test_prometheus_text(lines):
    try:
        metrics = parse_metrics("\n".join(lines))
    except ValueError:
        return
    metrics.version()
    metrics.total("pilot_total_xds_rejects")


# --- Elasticsearch -----------------------------------------------------------------------------------------

SETTINGS_DOC = st.fixed_dictionaries({}, optional={
    section: st.dictionaries(st.sampled_from([
        "cluster.routing.allocation.disk.watermark.low", "cluster.routing.allocation.disk.watermark.high",
        "cluster.routing.allocation.disk.watermark.flood_stage", "cluster.routing.allocation.disk.threshold_enabled",
        "cluster.routing.allocation.disk.watermark.flood_stage.max_headroom"]), json_values)
    for section in ("persistent", "transient", "defaults")})  # fmt: skip


@given(SETTINGS_DOC, st.floats(0, 2**50) | st.integers(0, 2**50))
def test_elasticsearch_settings_and_watermarks(document, total):
    settings = ClusterSettings.parse(document)
    settings.enabled()
    for level in LEVELS:
        free_bytes_threshold(settings, level, float(total))


NODE = near(["name", "roles", "fs"]) | st.fixed_dictionaries({
    "name": st.text(max_size=8), "roles": st.lists(st.sampled_from(["data", "master", "x"]), max_size=2),
    "fs": st.fixed_dictionaries({"data": st.lists(near(["path", "total_in_bytes", "available_in_bytes"]))})})  # fmt: skip


@given(st.fixed_dictionaries({"nodes": st.dictionaries(st.text(max_size=6), NODE, max_size=3)}) | st.dictionaries(
    st.text(max_size=5), json_values, max_size=3))  # fmt: skip
def test_node_disks(document):
    least_available_paths(document)


ROW = near(["index", "health", "status", "docs.count", "store.size", "creation.date"])


@given(st.lists(ROW, max_size=5) | json_values, st.sampled_from(["", "logstash", "x-y"]), st.sampled_from(["-", "."]))
def test_cat_indices_blocks_and_names(rows, prefix, separator):
    parse_cat_indices(rows, prefix, separator)
    parse_blocks(rows)
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        parse_index(str(row.get("index")), prefix, separator)


@given(st.text(max_size=30), st.sampled_from(["", "logstash"]), st.sampled_from(["-", "."]))
def test_index_names(name, prefix, separator):
    parse_index(name, prefix, separator)


# --- Kubernetes --------------------------------------------------------------------------------------------

PROJECTIONS = [p.project_namespace, p.project_deployment, p.project_statefulset, p.project_pod, p.project_hpa,
               p.project_event, p.project_validating_webhooks, p.project_mutating_webhooks, p.project_service,
               p.project_endpointslice, p.project_node, p.project_crd, p.project_istio_configmap]  # fmt: skip
K8S_OBJECT = near(["metadata", "spec", "status", "webhooks", "data", "involvedObject", "reason", "message",
                   "endpoints", "ports", "addressType", "lastTimestamp", "count", "type"])  # fmt: skip
# the informer skips an object whose projection raises one of these (and counts it)
SKIPPED = (KeyError, TypeError, ValueError, AttributeError)


@given(
    st.sampled_from(PROJECTIONS),
    K8S_OBJECT
    | st.fixed_dictionaries(
        {
            "metadata": near(
                [
                    "name",
                    "namespace",
                    "labels",
                    "annotations",
                    "ownerReferences",
                    "deletionTimestamp",
                    "creationTimestamp",
                ]
            )
        }
    ),
)
def test_projections(project, obj):  # fmt: skip
    with contextlib.suppress(SKIPPED):
        project(obj)


@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_watch_event_lines(line):
    with contextlib.suppress(SourceError):
        _parse_event("/api/v1/pods", line)


# --- configuration -----------------------------------------------------------------------------------------

CONFIG = near(["istio", "sources", "checks", "alerts", "elasticsearch", "kubernetes", "findings", "metric_selector"])


@given(CONFIG | json_values)
def test_config_files(document):
    path = Path(__file__).parent / ".fuzz-config.yaml"
    try:
        path.write_text(yaml.safe_dump(document))
        load_settings(path)
    except ConfigError:
        pass
    finally:
        path.unlink(missing_ok=True)


def test_found_by_fuzzing_unparseable_watermarks_and_node_shapes():
    settings = ClusterSettings.parse({"persistent": {"cluster.routing.allocation.disk.watermark.low": "%"}})
    assert free_bytes_threshold(settings, "low", 100.0) is None
    assert least_available_paths({"nodes": {"": {"fs": True}}}) == []
    assert least_available_paths({"nodes": ["not", "a", "map"]}) == []


def _outcome(parse: Any, text: str) -> tuple[str, str]:
    try:
        return "ok", json.dumps(parse(text), sort_keys=True)
    except ValueError:
        return "rejected", ""


@given(json_values, st.sampled_from(["", " ", "\n\t ", "  \r\n"]))
def test_interruptible_json_decodes_what_json_loads_decodes(value, ws):
    from exporter.sources.json_array import loads_interruptible

    text = json.dumps(value).replace(", ", f",{ws}").replace("[", f"[{ws}")
    assert _outcome(loads_interruptible, f"{ws}{text}{ws}") == _outcome(json.loads, f"{ws}{text}{ws}")


@given(st.text(alphabet='[]{},:"0123456789 .-eEtruefalsn\\\n', max_size=40))
def test_interruptible_json_rejects_what_json_loads_rejects(text):
    from exporter.sources.json_array import loads_interruptible

    assert _outcome(loads_interruptible, text) == _outcome(json.loads, text)


MANIFEST_TEXT = st.text(alphabet="-:{}[]#|> \n\tabkindListitemsapiVersionmetadataname0123'\"", max_size=120)


@given(
    MANIFEST_TEXT
    | json_values.map(lambda v: yaml.safe_dump_all([v, {"kind": "List", "items": v}]))
    | json_values.map(
        lambda v: json.dumps({"apiVersion": "v1", "kind": "List", "items": v}) + "\n---\n" + json.dumps(v)
    )
)
def test_manifest_documents(text):
    """A manifest file of any content gives objects and named problems, never an exception; a problem names its
    document."""
    from exporter.sources.manifests import Manifest, ManifestError, parse_documents

    for item in parse_documents(text, "f.yaml"):
        assert isinstance(item, Manifest | ManifestError)
        if isinstance(item, ManifestError):
            assert item.where.startswith("document ")
        else:
            assert isinstance(item.kind, str) and isinstance(item.metadata["name"], str)
