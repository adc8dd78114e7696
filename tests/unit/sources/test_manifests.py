import io
import json

import pytest
import yaml

from exporter.sources import manifests as m
from exporter.sources.manifests import Manifest, ManifestError, parse_documents, read_manifests

VS = """apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec: {hosts: [reviews]}
"""
# as `kubectl get virtualservices,deployments -o yaml` writes it
KUBECTL_LIST = """apiVersion: v1
items:
- apiVersion: networking.istio.io/v1
  kind: VirtualService
  metadata: {name: reviews, namespace: bookinfo}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: reviews-v1, namespace: bookinfo}
kind: List
metadata: {resourceVersion: ""}
"""


def parsed(text: str, path: str = "f.yaml") -> list[Manifest | ManifestError]:
    return list(parse_documents(text, path))


def test_every_document_is_read_and_described_by_kind_and_name():
    [a, b] = parsed(VS + "---\n" + VS.replace("reviews", "ratings"))
    assert isinstance(a, Manifest) and isinstance(b, Manifest)
    assert (a.kind, a.group, a.metadata["name"]) == ("VirtualService", "networking.istio.io", "reviews")
    assert a.where == "document 1 (line 1) (VirtualService reviews)"
    assert b.where == "document 2 (line 6) (VirtualService ratings)"


def test_core_group_is_empty():
    [svc] = parsed("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
    assert isinstance(svc, Manifest) and svc.group == ""


def test_a_kubectl_list_is_read_item_by_item():
    items = parsed(KUBECTL_LIST)
    assert [(i.kind, i.metadata["name"]) for i in items if isinstance(i, Manifest)] == [
        ("VirtualService", "reviews"),
        ("Deployment", "reviews-v1"),
    ]
    assert items[1].where == "document 1 (line 1), items[1] (Deployment reviews-v1)"


def test_a_typed_list_gives_its_items_their_kind_and_api_version():
    # the API server's answer to a list request: items carry neither
    text = '{"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {"name": "p", "namespace": "n"}}]}'
    [pod] = parsed(text, "pods.json")
    assert isinstance(pod, Manifest) and (pod.kind, pod.api_version) == ("Pod", "v1")


def test_nested_lists_and_bad_items_are_named_by_index():
    text = "apiVersion: v1\nkind: List\nitems:\n- 3\n- apiVersion: v1\n  kind: List\n  items: [{kind: Pod}]\n"
    errors = parsed(text)
    assert [str(e) for e in errors] == [
        "document 1 (line 1), items[0]: not a Kubernetes object (a YAML int)",
        "document 1 (line 1), items[1], items[0]: not a Kubernetes object: no apiVersion, metadata.name",
    ]


def test_a_list_whose_items_are_not_a_list_is_a_problem():
    [error] = parsed("apiVersion: v1\nkind: List\nitems: {a: 1}\n")
    assert isinstance(error, ManifestError) and "List: items is not a list" in error.message


def test_a_bad_document_costs_only_itself_and_names_its_line():
    text = VS + "---\napiVersion: v1\nkind: Service\nmetadata: {name: [\n---\n" + VS.replace("reviews", "ratings")
    first, bad, last = parsed(text)
    assert isinstance(first, Manifest) and isinstance(last, Manifest)
    assert isinstance(bad, ManifestError) and bad.where == "document 2 (line 6)"
    assert bad.message.startswith("not YAML: line 9:"), bad.message  # the line after the unclosed flow sequence


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "not a Kubernetes object (a YAML list)"),
        ("just text\n", "not a Kubernetes object (a YAML str)"),
        ("kind: Service\nmetadata: {name: s}\n", "no apiVersion"),
        ("apiVersion: v1\nmetadata: {name: s}\n", "no kind"),
        ("apiVersion: v1\nkind: Service\n", "no metadata.name"),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: ''}\n", "no metadata.name"),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: [a]}\n", "metadata.namespace is not text"),
        ("apiVersion: 1\nkind: Service\nmetadata: {name: s}\n", "no apiVersion"),
    ],
)
def test_documents_that_are_not_kubernetes_objects_are_named(text, message):
    [error] = parsed(text)
    assert isinstance(error, ManifestError) and message in error.message
    assert error.where == "document 1 (line 1)"


def test_empty_and_comment_only_documents_are_skipped():
    text = "# header\n---\n\n---\n" + VS + "---\n# trailing comment\n"
    [vs] = parsed(text)
    assert isinstance(vs, Manifest) and vs.where.startswith("document 1 (line 5)")


def test_content_on_the_separator_line_starts_the_document():
    [svc, vs] = parsed("--- {apiVersion: v1, kind: Service, metadata: {name: s}}\n--- # VirtualService\n" + VS)
    assert isinstance(svc, Manifest) and svc.metadata["name"] == "s" and svc.where.startswith("document 1 (line 1)")
    assert isinstance(vs, Manifest) and vs.where.startswith("document 2 (line 3)")


def test_a_block_scalar_holding_dashes_is_not_split():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  mesh: |\n    ---\n    a: 1\n"
    [cm] = parsed(text)
    assert isinstance(cm, Manifest) and cm.body["data"]["mesh"] == "---\na: 1\n"


def test_directories_are_read_recursively_in_order_and_only_manifest_files(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "vs.yml").write_text(VS)
    (tmp_path / "a.yaml").write_text(VS.replace("reviews", "ratings"))
    (tmp_path / "c.JSON").write_text('{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}')
    (tmp_path / "README.md").write_text("# not a manifest")
    result = read_manifests([str(tmp_path)])
    assert result.paths == tuple(str(tmp_path / p) for p in ("a.yaml", "b/vs.yml", "c.JSON"))
    assert [o.metadata["name"] for o in result.objects] == ["ratings", "reviews", "s"]
    assert result.errors == ()


def test_missing_paths_and_empty_directories_are_problems_beside_what_was_read(tmp_path):
    good = tmp_path / "vs.yaml"
    good.write_text(VS)
    (tmp_path / "empty").mkdir()
    result = read_manifests([str(tmp_path / "nope.yaml"), str(good), str(tmp_path / "empty")])
    assert [o.metadata["name"] for o in result.objects] == ["reviews"]
    assert [(e.path, e.message) for e in result.errors] == [
        (str(tmp_path / "nope.yaml"), "no such file or directory"),
        (str(tmp_path / "empty"), "directory holds no .yaml/.yml/.json file"),
    ]


def test_stdin_is_read_for_a_dash():
    result = read_manifests(["-"], stdin=io.StringIO(KUBECTL_LIST))
    assert result.paths == ("-",) and len(result.objects) == 2 and all(o.path == "-" for o in result.objects)


def test_oversized_and_undecodable_files_are_refused_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(m, "MAX_FILE_BYTES", 100)
    big = tmp_path / "big.yaml"
    big.write_text(VS * 10)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00kind")
    result = read_manifests([str(big), str(binary)])
    assert result.objects == ()
    assert result.errors[0].message == "cannot read: larger than 100 bytes"
    assert result.errors[1].message.startswith("cannot read:")


def test_unquoted_times_stay_text_as_kubernetes_reads_them():
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, creationTimestamp: 2020-01-01T00:00:00Z}\nspec: {x: 2020-02-30}\n"
    [pod] = parsed(text)
    assert isinstance(pod, Manifest)
    assert pod.metadata["creationTimestamp"] == "2020-01-01T00:00:00Z" and pod.body["spec"]["x"] == "2020-02-30"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!timestamp 2020-02-30\n", "not YAML: day is out of range for month"),
        ("a: !!binary zz\n", "not YAML: line 1: failed to decode base64 data"),
        ("a: !!python/object:os.system x\n", "not YAML: line 1: could not determine a constructor"),
        ("[" * 20000, "not YAML: line 1: exceeded maximum nesting depth"),
    ],
)
def test_yaml_a_safe_loader_refuses_is_a_problem_of_its_document(text, message):
    [error, after] = parsed(text + "\n---\n" + VS)
    assert isinstance(error, ManifestError) and error.message.startswith(message), error.message
    assert isinstance(after, Manifest)


def test_json_and_yaml_documents_give_the_same_objects():
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "labels": {"a": "1"}},
            "spec": {"ports": [{"port": 80, "name": "http"}], "x": None, "y": True, "z": 1.5}}  # fmt: skip
    as_json = json.dumps(body, indent=2)
    [from_json] = parsed(as_json + "\n---\n" + as_json.replace("\n", " "))[:1]
    [from_yaml] = parsed(yaml.safe_dump(body))
    assert isinstance(from_json, Manifest) and isinstance(from_yaml, Manifest) and from_json.body == from_yaml.body
    # flow YAML that is not JSON (unquoted keys, single quotes, a trailing comment) still reads as YAML
    [flow] = parsed("{apiVersion: 'v1', kind: Service, metadata: {name: s}}  # flow\n")
    assert isinstance(flow, Manifest) and flow.metadata["name"] == "s"
    [broken] = parsed('{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}\n')
    assert isinstance(broken, ManifestError) and broken.message.startswith("not YAML: line ")
