"""`python -m testbed up|down|status`: start the testbed for humans and leave it running."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from testbed.demo import scenario, start_monitoring
from testbed.demo_verify import verify
from testbed.istio import (
    Istiod,
    Sidecars,
    create_running_pod,
    create_service,
    install_istio_crds,
    prepare_control_plane,
    register_istiod_deployment,
)
from testbed.kube import KubeCluster
from testbed.processes import CACHE, ComponentError, ManagedProcess

RUN = CACHE / "run"
STATE = RUN / "state.json"


def up(demo: bool = False) -> int:
    if STATE.exists():
        print(f"testbed already up (see {STATE}); run `make testbed-down` first", file=sys.stderr)
        return 1
    RUN.mkdir(parents=True, exist_ok=True)
    cluster = KubeCluster(workdir=RUN / "kube")
    procs: list[ManagedProcess] = [cluster.etcd, cluster.apiserver, cluster.controller_manager]
    try:
        cluster.start()
        install_istio_crds(cluster)
        prepare_control_plane(cluster)
        istiods = [Istiod(cluster, "istiod-a").start(), Istiod(cluster, "istiod-b").start()]
        register_istiod_deployment(cluster, len(istiods))
        procs += [i.process for i in istiods]
        cluster.admin.apply(
            "/api/v1/namespaces",
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "shop", "labels": {"istio-injection": "enabled"}},
            },
        )
        pods = []
        for i in range(4):
            ip = f"10.10.0.{i + 10}"
            create_running_pod(cluster, "shop", f"web-{i}", ip, {"app": "web", "version": "v1"})
            pods.append({"name": f"web-{i}", "namespace": "shop", "ip": ip, "xds": istiods[i % 2].xds_address})
        create_service(cluster, "shop", "web", 8080, [p["ip"] for p in pods], {"app": "web"})
        sidecars = Sidecars(cluster, pods).start()
        procs.append(sidecars.process)
    except ComponentError as err:
        for proc in reversed(procs):
            proc.stop()
        print(err, file=sys.stderr)
        return 1
    state: dict[str, Any] = {"kubeconfig": str(cluster.kubeconfig), "server": cluster.server,
                             "sidecars_control": sidecars.control,
                             "istiod_urls": [i.monitoring_url for i in istiods]}  # fmt: skip
    if demo:
        try:
            procs += start_monitoring(RUN, state)
        except ComponentError as err:
            for proc in reversed(procs):
                proc.stop()
            print(err, file=sys.stderr)
            return 1
    config = RUN / "exporter.json"
    config.write_text(
        json.dumps(
            {
                "istio": {"istiod_urls": [i.monitoring_url for i in istiods]},
                "sources": {"kubernetes": {"interval_seconds": 5}, "istiod": {"interval_seconds": 5}},
            }
        )
    )
    pids = {p.name: p.process.pid for p in procs if p.process is not None}
    STATE.write_text(json.dumps({"pids": pids, "exporter_config": str(config), **state}))
    print(f"kube-apiserver: {cluster.server}")
    print(f"istiod: {', '.join(i.monitoring_url for i in istiods)}")
    print(f"simulated sidecars (control): http://{sidecars.control}/status")
    print(f"export KUBECONFIG={cluster.kubeconfig}")
    if demo:
        print(f"exporter status page: {state['exporter']}/")
        print(f"Prometheus alerts:    {state['prometheus']}/alerts")
        print(
            "break something: make demo-break SCENARIO=DP01 (DP01 CP03 DP02 CP05 TR03 TR01); repair: make demo-fix ..."
        )
    else:
        print(f"run the exporter: make serve ARGS='--kubeconfig {cluster.kubeconfig} --config {config}'")
    return 0


def act(action: str, name: str) -> int:
    if not STATE.exists():
        print("the demo is not up: make demo", file=sys.stderr)
        return 1
    print(scenario(json.loads(STATE.read_text()), name.upper(), action))
    return 0


def down() -> int:
    if not STATE.exists():
        print("testbed is not up")
        return 0
    state = json.loads(STATE.read_text())
    for name, pid in reversed(list(state["pids"].items())):
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
        print(f"stopped {name} ({pid})")
    STATE.unlink()
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie whose parent is gone counts as stopped
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return False


def status() -> int:
    print(STATE.read_text() if STATE.exists() else "testbed is not up")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["demo"]:
        return up(demo=True)
    if argv[:1] == ["verify-demo"]:
        if not STATE.exists():
            print("the demo is not up: make demo", file=sys.stderr)
            return 1
        return verify(json.loads(STATE.read_text()))
    if argv[:1] in (["break"], ["fix"]) and len(argv) == 2:
        return act(argv[0], argv[1])
    commands = {"up": up, "down": down, "status": status}
    if len(argv) != 1 or argv[0] not in commands:
        print("usage: python -m testbed up|demo|verify-demo|down|status, or break|fix SCENARIO", file=sys.stderr)
        return 2
    return commands[argv[0]]()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
