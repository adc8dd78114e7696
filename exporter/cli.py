"""Command line: ``serve``, ``check`` and ``generate``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

from exporter.build import version_line
from exporter.config import ConfigError, Settings, load_settings, missing_files
from exporter.model import Severity

log = logging.getLogger("exporter")

EXIT_OK, EXIT_FINDINGS, EXIT_CANNOT_RUN = 0, 1, 2


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help with each option's default (options without one say theirs in the text)."""


def _parser() -> argparse.ArgumentParser:
    version = version_line("mesh-health-exporter")
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--version", action="version", version=version, help="print version and revision, exit")
    common.add_argument("--config", type=Path, help="YAML configuration file (see docs/configuration.md)")
    common.add_argument("--kubeconfig", type=Path, help="kubeconfig path (kubernetes.kubeconfig)")
    common.add_argument("--context", help="kubeconfig context (kubernetes.context)")
    common.add_argument(
        "--log.level", "--log-level", dest="log_level", choices=["debug", "info", "warning", "error"],
        help="log level (log_level; default info, for check: error)",
    )  # fmt: skip
    common.add_argument(
        "--log.format", "--log-format", dest="log_format", choices=["text", "json"],
        help="log line format (log_format; default text)",
    )  # fmt: skip

    parser = argparse.ArgumentParser(
        prog="mesh-health-exporter",
        description="Prometheus exporter and alert-rule generator for Istio meshes and Jaeger tracing storage.",
    )
    parser.add_argument("--version", action="version", version=version)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name, parents=[common], help=summary, description=description, formatter_class=_HelpFormatter
        )

    serve = command(
        "serve",
        "run the exporter until SIGTERM/SIGINT",
        "Probe the configured sources in the background and serve the derived metrics, a status page (/), "
        "/healthz and /readyz. Stops within a few seconds of SIGTERM or SIGINT.",
    )
    serve.add_argument(
        "--web.listen-address", "--listen-address", dest="listen_address", action="append", default=argparse.SUPPRESS,
        help="host:port to listen on, repeatable (listen_address; default 0.0.0.0:9745)",
    )  # fmt: skip
    serve.add_argument(
        "--web.telemetry-path", dest="telemetry_path", default=argparse.SUPPRESS,
        help="path under which the metrics are served (telemetry_path; default /metrics)",
    )  # fmt: skip
    serve.add_argument(
        "--web.config.file", dest="web_config_file", type=Path, default=argparse.SUPPRESS,
        help="exporter-toolkit web config file: TLS and basic auth (web_config_file)",
    )  # fmt: skip

    check = command(
        "check",
        "probe once, print findings, exit 0/1/2",
        "Probe every source once and print the findings. Exit 0: every source answered and every check was "
        "evaluated, nothing at or above --fail-on; 1: such a finding; 2: a source down, a check not evaluated, "
        "or bad configuration. With --files, the configuration checks run on manifests instead (each file a "
        "source, down when a document in it cannot be read).",
    )
    check.add_argument("--output", choices=["table", "json"], default="table", help="report format")
    check.add_argument(
        "--files", "-f", nargs="+", metavar="PATH", default=None,
        help="run the Istio configuration checks (CF01-CF21) on these manifests instead of the cluster: YAML or "
             "JSON files, directories (their *.yaml, *.yml, *.json, recursively) or - for stdin; kind: List is "
             "read item by item. Objects not given do not exist, unless --use-kube",
    )  # fmt: skip
    check.add_argument(
        "--use-kube", action="store_true",
        help="with --files: apply the files over the live cluster's objects (as istioctl analyze -f does)",
    )  # fmt: skip
    check.add_argument(
        "--namespace", "-n", default="default",
        help="with --files: namespace of namespaced objects that name none",
    )  # fmt: skip
    check.add_argument(
        "--fail-on",
        choices=["critical", "warning", "info", "never"],
        default="warning",
        help="exit 1 when a finding of at least this severity exists",
    )

    generate = command(
        "generate",
        "write alert rules, dashboards and docs from the catalogue",
        "Render the Prometheus rules (plain file and PrometheusRule), promtool tests, Grafana dashboards, "
        "runbooks and the configuration reference. Without --config the project tree is regenerated; with "
        "--config the customised rules, their promtool tests and dashboards are written to --output-dir. The "
        "tests need promtool: each failure mode's scenario is evaluated once to record the alerts it fires, and "
        "an enabled alert that fires in no scenario stops the generation.",
    )
    generate.add_argument(
        "--promtool",
        default=shutil.which("promtool"),
        help="promtool binary that records the rules' tests (default: promtool on PATH)",
    )
    generate.add_argument(
        "--skip-rule-tests",
        action="store_true",
        help="write no promtool tests (alert_rules/tests); nothing else needs promtool",
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
    if getattr(args, "kubeconfig", None):
        kube["kubeconfig"] = args.kubeconfig
        kube["mode"] = "kubeconfig"
    if getattr(args, "context", None):
        kube["context"] = args.context
    if kube:
        out["kubernetes"] = kube
    for name in ("log_level", "log_format", "listen_address", "telemetry_path", "web_config_file"):
        value = getattr(args, name, None)
        if value is not None:
            out[name] = value
    return out


def _check(settings: Settings, output: str, fail_on: str) -> int:
    from exporter.app import active_checks, run_once
    from exporter.report import exit_code

    if not active_checks(settings):
        print("mesh-health-exporter: cannot check: no check is enabled", file=sys.stderr)
        return EXIT_CANNOT_RUN
    result = asyncio.run(run_once(settings))
    if result.sources and not any(s.up for s in result.sources):
        reasons = "; ".join(f"{s.name}: {s.error}" for s in result.sources)
        print(f"mesh-health-exporter: cannot check: no source reachable ({reasons})", file=sys.stderr)
        return EXIT_CANNOT_RUN
    _print_report(result, settings, output, active_checks(settings))
    return exit_code(result.sources, result.outcomes, None if fail_on == "never" else Severity.parse(fail_on))


def _print_report(result: Any, settings: Settings, output: str, checks: list[Any]) -> None:
    from exporter.report import report_json, report_table

    check_sources = {c.id: c.source for c in checks}
    print(
        report_json(result.sources, result.outcomes, check_sources)
        if output == "json"
        else report_table(result.sources, result.outcomes),
        end="" if output == "table" else "\n",
    )


def _check_files(settings: Settings, args: argparse.Namespace) -> int:
    from exporter.app import configuration_checks, run_files
    from exporter.report import exit_code

    checks = configuration_checks(settings)
    if not checks:
        print("mesh-health-exporter: cannot check files: no configuration check (CF01-CF21) is enabled",
              file=sys.stderr)  # fmt: skip
        return EXIT_CANNOT_RUN
    if args.use_kube and not settings.sources.kubernetes.enabled:
        print("mesh-health-exporter: cannot use the cluster: sources.kubernetes is disabled", file=sys.stderr)
        return EXIT_CANNOT_RUN
    result = asyncio.run(run_files(settings, args.files, namespace=args.namespace, use_kube=args.use_kube))
    if result.unread:
        kinds = ", ".join(f"{kind} ({n})" for kind, n in sorted(result.unread.items()))
        print(f"mesh-health-exporter: not read, no configuration check reads these: {kinds}", file=sys.stderr)
    if result.absent:
        print(
            f"mesh-health-exporter: the files hold no {', '.join(result.absent)}: the checks see none "
            "(add them, or --use-kube to read the cluster's)",
            file=sys.stderr,
        )
    _print_report(result, settings, args.output, checks)
    return exit_code(result.sources, result.outcomes, None if args.fail_on == "never" else Severity.parse(args.fail_on))


def _serve(settings: Settings) -> int:
    from exporter.server.refresher_process import RefresherExited
    from exporter.server.serve import serve
    from exporter.server.webconfig import load_web_config

    web_config = load_web_config(settings.web_config_file)
    try:
        asyncio.run(serve(settings, web_config))
    except (OSError, RefresherExited) as exc:
        print(f"mesh-health-exporter: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    return EXIT_OK


def _generate(settings: Settings, args: argparse.Namespace, customised: bool) -> int:
    from exporter.generate import write_all
    from exporter.generate.rule_tests import RuleTestError

    promtool = None if args.skip_rule_tests or not args.promtool else shutil.which(args.promtool)
    if promtool is None and not args.skip_rule_tests:
        print(
            f"mesh-health-exporter: promtool not found ({args.promtool or 'not on PATH'}): the rules' tests need "
            "it (Prometheus' promtool on PATH or --promtool PATH), or pass --skip-rule-tests",
            file=sys.stderr,
        )
        return EXIT_CANNOT_RUN
    try:
        written = write_all(settings, args.output_dir, project_tree=not customised, promtool=promtool)
    except RuleTestError as exc:
        print(f"mesh-health-exporter: cannot write the rules' tests: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    for path in written:
        log.info("wrote %s", path)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from exporter.logs import setup_logging

    try:
        config = getattr(args, "config", None)
        settings = load_settings(config, _overrides(args))
        from exporter.alerting import override_errors

        errors = override_errors(settings)
        if args.command == "check" and args.files is None and args.use_kube:
            errors.append("--use-kube needs --files")
        if args.command == "serve" or (args.command == "check" and (args.files is None or args.use_kube)):
            errors += missing_files(settings)
        if errors:
            raise ConfigError("invalid configuration: " + "; ".join(errors))
        # The check report states every source error itself; logs would only repeat them.
        quiet = args.command == "check" and getattr(args, "log_level", None) is None
        setup_logging("error" if quiet else settings.log_level, settings.log_format)
        if args.command == "serve":
            return _serve(settings)
        if args.command == "check" and args.files is not None:
            return _check_files(settings, args)
        if args.command == "check":
            return _check(settings, args.output, args.fail_on)
        return _generate(settings, args, customised=config is not None)
    except ConfigError as exc:
        print(f"mesh-health-exporter: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        return 130
