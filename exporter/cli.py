"""Command line: ``serve``, ``check`` and ``generate``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from exporter import __version__
from exporter.config import ConfigError, Settings, load_settings, missing_files
from exporter.model import Severity

log = logging.getLogger("exporter")

EXIT_OK, EXIT_FINDINGS, EXIT_CANNOT_RUN = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="YAML configuration file (see docs/configuration.md)")
    common.add_argument("--kubeconfig", type=Path, help="kubeconfig path (kubernetes.kubeconfig)")
    common.add_argument("--context", help="kubeconfig context (kubernetes.context)")
    common.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    common.add_argument("--log-format", choices=["text", "json"])

    parser = argparse.ArgumentParser(
        prog="mesh-health-exporter",
        description="Prometheus exporter and alert-rule generator for Istio meshes and Jaeger tracing storage.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run the exporter until SIGTERM/SIGINT")
    serve.add_argument("--listen-address", help="host:port (listen_address)")
    serve.add_argument(
        "--web.config.file",
        dest="web_config_file",
        type=Path,
        help="exporter-toolkit web config file: TLS and basic auth",
    )

    check = sub.add_parser("check", parents=[common], help="probe once, print findings, exit 0/1/2")
    check.add_argument("--output", choices=["table", "json"], default="table")
    check.add_argument(
        "--fail-on",
        choices=["critical", "warning", "info", "never"],
        default="warning",
        help="exit 1 when a finding of at least this severity exists (default: warning)",
    )

    generate = sub.add_parser(
        "generate", parents=[common], help="write alert rules, dashboards and docs from the catalogue"
    )
    generate.add_argument(
        "--output-dir",
        type=Path,
        default=Path("."),
        help="project root to write alert_rules/, grafana_dashboards/ and docs/ into",
    )
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    kube: dict[str, Any] = {}
    if args.kubeconfig:
        kube["kubeconfig"] = args.kubeconfig
        kube["mode"] = "kubeconfig"
    if args.context:
        kube["context"] = args.context
    if kube:
        out["kubernetes"] = kube
    for name in ("log_level", "log_format", "listen_address", "web_config_file"):
        value = getattr(args, name, None)
        if value is not None:
            out[name] = value
    return out


def _check(settings: Settings, output: str, fail_on: str) -> int:
    from exporter.app import active_checks, run_once
    from exporter.report import exit_code, report_json, report_table

    if not active_checks(settings):
        print("mesh-health-exporter: cannot check: no check is enabled", file=sys.stderr)
        return EXIT_CANNOT_RUN
    result = asyncio.run(run_once(settings))
    if result.sources and not any(s.up for s in result.sources):
        reasons = "; ".join(f"{s.name}: {s.error}" for s in result.sources)
        print(f"mesh-health-exporter: cannot check: no source reachable ({reasons})", file=sys.stderr)
        return EXIT_CANNOT_RUN
    check_sources = {c.id: c.source for c in active_checks(settings)}
    print(
        report_json(result.sources, result.outcomes, check_sources)
        if output == "json"
        else report_table(result.sources, result.outcomes),
        end="" if output == "table" else "\n",
    )
    return exit_code(result.sources, result.outcomes, None if fail_on == "never" else Severity.parse(fail_on))


def _serve(settings: Settings) -> int:
    from exporter.server.serve import serve
    from exporter.server.webconfig import load_web_config

    web_config = load_web_config(settings.web_config_file)
    try:
        asyncio.run(serve(settings, web_config))
    except OSError as exc:
        print(f"mesh-health-exporter: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    return EXIT_OK


def _generate(settings: Settings, output_dir: Path, customised: bool) -> int:
    from exporter.generate import write_all

    for path in write_all(settings, output_dir, project_tree=not customised):
        log.info("wrote %s", path)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from exporter.logs import setup_logging

    try:
        settings = load_settings(args.config, _overrides(args))
        from exporter.alerting import override_errors

        errors = override_errors(settings)
        if args.command in ("serve", "check"):
            errors += missing_files(settings)
        if errors:
            raise ConfigError("invalid configuration: " + "; ".join(errors))
        # The check report states every source error itself; logs would only repeat them.
        quiet = args.command == "check" and args.log_level is None
        setup_logging("error" if quiet else settings.log_level, settings.log_format)
        if args.command == "serve":
            return _serve(settings)
        if args.command == "check":
            return _check(settings, args.output, args.fail_on)
        return _generate(settings, args.output_dir, customised=args.config is not None)
    except ConfigError as exc:
        print(f"mesh-health-exporter: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        return 130
