"""etcd and a real kube-apiserver on loopback, plus a small admin REST client for test set-up."""

from __future__ import annotations

import json
import shutil
import ssl
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testbed.pki import make_pki
from testbed.processes import BIN, ComponentError, ManagedProcess, free_port

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
KUBE_APISERVER = str(BIN / "kube-apiserver")
KUBE_CONTROLLER_MANAGER = str(BIN / "kube-controller-manager")


class ApiError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:500]}")
        self.status = status


@dataclass
class KubeClient:
    """JSON over HTTPS with a client certificate (or a bearer token)."""

    server: str
    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None
    token: str | None = None

    def _ssl(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        if self.cert_file and self.key_file:
            ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        return ctx

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        text = self.raw(method, path, body, content_type)
        return json.loads(text) if text else None

    def raw(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> bytes:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, context=self._ssl(), timeout=30) as resp:
                return bytes(resp.read())
        except urllib.error.HTTPError as err:
            raise ApiError(err.code, err.read().decode(errors="replace")) from None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def create(self, path: str, obj: dict[str, Any]) -> Any:
        return self.request("POST", path, obj)

    def apply(self, path: str, obj: dict[str, Any]) -> Any:
        """Server-side apply to the object's own path (collection path + /name)."""
        name = obj["metadata"]["name"]
        return self.request(
            "PATCH", f"{path}/{name}?fieldManager=meshhealth-testbed&force=true", obj, "application/apply-patch+yaml"
        )

    def merge_patch(self, path: str, patch: dict[str, Any]) -> Any:
        return self.request("PATCH", path, patch, "application/merge-patch+json")

    def delete(self, path: str, missing_ok: bool = True) -> Any:
        try:
            return self.request("DELETE", path)
        except ApiError as err:
            if err.status == 404 and missing_ok:
                return None
            raise


class KubeCluster:
    """etcd + kube-apiserver (RBAC and Node authorizers, service-account tokens) in a temp directory."""

    def __init__(self, workdir: Path | None = None, controllers: tuple[str, ...] = ("namespace",)) -> None:
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="meshhealth-kube-"))
        self.pki = make_pki(self.workdir / "pki")
        self.etcd_port = free_port()
        self.port = free_port()
        self.server = f"https://127.0.0.1:{self.port}"
        self.etcd = ManagedProcess(
            "etcd",
            [
                ETCD, "--name", "testbed", "--data-dir", str(self.workdir / "etcd"),
                "--listen-client-urls", f"http://127.0.0.1:{self.etcd_port}",
                "--advertise-client-urls", f"http://127.0.0.1:{self.etcd_port}",
                "--listen-peer-urls", f"http://127.0.0.1:{free_port()}",
            ],
            self.workdir,
            env={"ETCD_UNSUPPORTED_ARCH": "amd64"},
        )  # fmt: skip
        self.apiserver = ManagedProcess(
            "kube-apiserver",
            [
                KUBE_APISERVER,
                f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
                "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.port}",
                f"--tls-cert-file={self.pki / 'apiserver.crt'}", f"--tls-private-key-file={self.pki / 'apiserver.key'}",
                f"--client-ca-file={self.pki / 'ca.crt'}",
                "--authorization-mode=Node,RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={self.pki / 'sa.pub'}",
                f"--service-account-signing-key-file={self.pki / 'sa.key'}",
                "--api-audiences=https://kubernetes.default.svc.cluster.local",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--disable-admission-plugins=ServiceAccount",
                "--watch-cache=true", "--v=1",
            ],
            self.workdir,
        )  # fmt: skip
        self.controller_manager = ManagedProcess(
            "kube-controller-manager",
            [
                KUBE_CONTROLLER_MANAGER,
                f"--kubeconfig={self.workdir / 'kubeconfig'}",
                f"--controllers={','.join(controllers)}",
                "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0", "--v=1",
            ],
            self.workdir,
        )  # fmt: skip
        self.controllers = controllers
        self.admin = KubeClient(self.server, self.pki / "ca.crt", self.pki / "admin.crt", self.pki / "admin.key")
        self.kubeconfig = self.workdir / "kubeconfig"

    def start(self, timeout: float = 120) -> KubeCluster:
        self.etcd.start()
        self.etcd.wait_until(self._etcd_ready, 30, "serving")
        self.apiserver.start()
        self.apiserver.wait_until(self._apiserver_ready, timeout, "ready")
        self.write_kubeconfig(self.kubeconfig, client_cert=True)
        if self.controllers:
            self.controller_manager.start()
        return self

    def _etcd_ready(self) -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.etcd_port}/health", timeout=2) as resp:
            return bool(json.loads(resp.read()).get("health") == "true")

    def _apiserver_ready(self) -> bool:
        try:
            return self.admin.raw("GET", "/readyz").strip() == b"ok"
        except ApiError:
            return False

    def write_kubeconfig(self, path: Path, client_cert: bool = False, token: str | None = None) -> Path:
        user: dict[str, str] = {}
        if client_cert:
            user = {"client-certificate": str(self.pki / "admin.crt"), "client-key": str(self.pki / "admin.key")}
        if token:
            user = {"token": token}
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "testbed",
                    "cluster": {"server": self.server, "certificate-authority": str(self.pki / "ca.crt")},
                }
            ],
            "contexts": [{"name": "testbed", "context": {"cluster": "testbed", "user": "user"}}],
            "current-context": "testbed",
            "users": [{"name": "user", "user": user}],
        }
        path.write_text(json.dumps(config, indent=2))
        return path

    def service_account_token(self, namespace: str, name: str, seconds: int = 3600) -> str:
        """A real TokenRequest-issued token for a ServiceAccount (created if missing)."""
        try:
            self.admin.create(f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": name}})
        except ApiError as err:
            if err.status != 409:
                raise
        review = self.admin.create(
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": seconds}},
        )
        return str(review["status"]["token"])

    def stop(self) -> None:
        self.controller_manager.stop()
        self.apiserver.stop()
        self.etcd.stop()

    def __enter__(self) -> KubeCluster:
        try:
            return self.start()
        except ComponentError:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
