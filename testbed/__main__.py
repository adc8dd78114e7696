"""`python -m testbed up|down|status`: start the testbed for humans and leave it running."""

from __future__ import annotations

import json
import os
import signal
import sys

from testbed.kube import KubeCluster
from testbed.processes import CACHE, ComponentError

RUN = CACHE / "run"
STATE = RUN / "state.json"


def up() -> int:
    if STATE.exists():
        print(f"testbed already up (see {STATE}); run `make testbed-down` first", file=sys.stderr)
        return 1
    RUN.mkdir(parents=True, exist_ok=True)
    cluster = KubeCluster(workdir=RUN / "kube")
    try:
        cluster.start()
    except ComponentError as err:
        cluster.stop()
        print(err, file=sys.stderr)
        return 1
    procs = [cluster.etcd, cluster.apiserver, cluster.controller_manager]
    pids = {p.name: p.process.pid for p in procs if p.process is not None}
    STATE.write_text(json.dumps({"pids": pids, "kubeconfig": str(cluster.kubeconfig), "server": cluster.server}))
    print(f"kube-apiserver: {cluster.server}")
    print(f"export KUBECONFIG={cluster.kubeconfig}")
    return 0


def down() -> int:
    if not STATE.exists():
        print("testbed is not up")
        return 0
    state = json.loads(STATE.read_text())
    for name, pid in reversed(list(state["pids"].items())):
        try:
            os.killpg(pid, signal.SIGTERM)
            print(f"stopped {name} ({pid})")
        except ProcessLookupError:
            pass
    STATE.unlink()
    return 0


def status() -> int:
    print(STATE.read_text() if STATE.exists() else "testbed is not up")
    return 0


def main(argv: list[str]) -> int:
    commands = {"up": up, "down": down, "status": status}
    if len(argv) != 1 or argv[0] not in commands:
        print("usage: python -m testbed up|down|status", file=sys.stderr)
        return 2
    return commands[argv[0]]()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
