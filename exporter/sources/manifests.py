"""Kubernetes manifests read from files, directories or stdin (``check --files``).

Each YAML or JSON document is read on its own, so one bad document costs only itself; ``kind: List`` and typed
lists (``PodList``, as the API answers a list request) are read item by item. What comes out is plain data:
the objects, each with where it was found, and the problems, each naming file and document.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

try:  # libyaml's loader is several times faster; the pure-Python one reads the same documents
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _Loader(_SafeLoader):
    """A safe loader that keeps unquoted dates and times as text, as Kubernetes reads them (YAML to JSON)."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
    }


SUFFIXES = (".yaml", ".yml", ".json")
MAX_FILE_BYTES = 64 * 1024 * 1024
STDIN = "-"
_SEPARATOR = re.compile(r"^---(?:[ \t].*)?$")


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object and where it was read: its file, and ``document N (line L)[, items[i]] (Kind
    name)`` within it."""

    path: str
    where: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def api_version(self) -> str:
        return str(self.body["apiVersion"])

    @property
    def group(self) -> str:
        """The API group of ``apiVersion``: ``""`` for ``v1``, ``networking.istio.io`` for ``…/v1``."""
        group, _, version = self.api_version.rpartition("/")
        return group if version else ""

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.body.get("metadata")
        return meta if isinstance(meta, dict) else {}


@dataclass(frozen=True)
class ManifestError:
    path: str
    where: str  # within the file: "document 2 (line 15)", "" for the file as a whole
    message: str

    def __str__(self) -> str:
        """The problem within its file: what a report shows beside the file's name."""
        return f"{self.where}: {self.message}" if self.where else self.message


@dataclass(frozen=True)
class Manifests:
    paths: tuple[str, ...]  # every file read (directories expanded), in order
    objects: tuple[Manifest, ...]
    errors: tuple[ManifestError, ...]


def read_manifests(paths: Sequence[str], stdin: IO[str] | None = None) -> Manifests:
    """Every object in ``paths`` (files; directories, their ``*.yaml``/``*.yml``/``*.json`` files recursively,
    sorted; ``-`` for stdin)."""
    files: list[str] = []
    objects: list[Manifest] = []
    errors: list[ManifestError] = []
    for arg in paths:
        for path, problem in _expand(arg):
            files.append(path)
            if problem:
                errors.append(ManifestError(path, "", problem))
                continue
            try:
                text = _read(path, stdin)
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                errors.append(ManifestError(path, "", f"cannot read: {exc}"))
                continue
            for item in parse_documents(text, path):
                (objects if isinstance(item, Manifest) else errors).append(item)  # type: ignore[arg-type]
    return Manifests(tuple(files), tuple(objects), tuple(errors))


def _expand(arg: str) -> Iterator[tuple[str, str]]:
    """(path, why it cannot be read or "")."""
    if arg == STDIN:
        yield STDIN, ""
        return
    path = Path(arg)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not found:
            yield arg, f"directory holds no {'/'.join(SUFFIXES)} file"
        for p in found:
            yield str(p), ""
    elif path.exists():
        yield arg, ""
    else:
        yield arg, "no such file or directory"


def _read(path: str, stdin: IO[str] | None) -> str:
    if path == STDIN:
        text = (stdin or sys.stdin).read(MAX_FILE_BYTES + 1)
    else:
        with open(path, encoding="utf-8") as f:
            text = f.read(MAX_FILE_BYTES + 1)
    if len(text) > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
    return text


def _documents(text: str) -> Iterator[tuple[int, int, str]]:
    """(document number from 1, first line number from 1, text) of each ``---``-separated document that holds
    more than comments and blank lines."""
    start, number = 1, 1
    lines: list[str] = []
    for lineno, line in enumerate(text.splitlines(keepends=True), start=1):
        if _SEPARATOR.match(line.rstrip("\r\n")):
            if _has_content(lines):
                yield number, start, "".join(lines)
                number += 1
            start, lines = lineno + 1, []
            rest = line[3:].strip()
            if rest and not rest.startswith("#"):  # "--- {kind: ...}": the document starts on the separator line
                start, lines = lineno, [rest + "\n"]
            continue
        lines.append(line)
    if _has_content(lines):
        yield number, start, "".join(lines)


def _has_content(lines: list[str]) -> bool:
    return any(ln.strip() and not ln.lstrip().startswith("#") for ln in lines)


def _load(doc: str) -> Any:
    """A JSON document (``kubectl -o json``, API answers) through the JSON parser, many times faster than YAML's
    and the same objects (JSON is YAML); anything else, or JSON it refuses, through the YAML loader."""
    if doc.lstrip()[:1] in ("{", "["):
        with contextlib.suppress(ValueError, RecursionError):
            return json.loads(doc)
    return yaml.load(doc, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def parse_documents(text: str, path: str) -> Iterator[Manifest | ManifestError]:
    """The objects of one file's text, and a problem for each document that is not a Kubernetes object."""
    for number, first_line, doc in _documents(text):
        where = f"document {number} (line {first_line})"
        try:
            body = _load(doc)
        except (yaml.YAMLError, ValueError, RecursionError) as exc:  # ValueError: a failing constructor
            mark = getattr(exc, "problem_mark", None)
            at = f"line {first_line + mark.line}: " if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            yield ManifestError(path, where, f"not YAML: {at}{problem}")
            continue
        if body is None:
            continue
        yield from _objects(body, where, path)


def _objects(body: Any, where: str, path: str) -> Iterator[Manifest | ManifestError]:
    if not isinstance(body, dict):
        yield ManifestError(path, where, f"not a Kubernetes object (a YAML {type(body).__name__})")
        return
    kind, api_version = body.get("kind"), body.get("apiVersion")
    items = body.get("items")
    if isinstance(kind, str) and kind.endswith("List") and "items" in body:
        if not isinstance(items, list):
            yield ManifestError(path, where, f"{kind}: items is not a list")
            return
        # a typed list (PodList) leaves kind and apiVersion out of its items
        item_kind = kind[: -len("List")] if kind != "List" else None
        for i, item in enumerate(items):
            if isinstance(item, dict) and item_kind is not None:
                item = {"kind": item_kind, "apiVersion": api_version, **item}
            yield from _objects(item, f"{where}, items[{i}]", path)
        return
    missing = [
        name for name, value in (("apiVersion", api_version), ("kind", kind)) if not isinstance(value, str) or not value
    ]
    raw_meta = body.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        missing.append("metadata.name")
    if missing:
        yield ManifestError(path, where, f"not a Kubernetes object: no {', '.join(missing)}")
        return
    namespace = meta.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        yield ManifestError(path, where, f"{kind} {meta['name']}: metadata.namespace is not text")
        return
    yield Manifest(path, f"{where} ({kind} {meta['name']})", body)
