"""A throwaway CA with serving, client and service-account keys, made with the openssl CLI."""

from __future__ import annotations

from pathlib import Path

from testbed.processes import run_step


def _openssl(*args: str, cwd: Path) -> None:
    run_step(["openssl", *args], cwd=cwd, timeout=60)


def _key(name: str, cwd: Path) -> None:
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=cwd)


def _signed(name: str, subject: str, cwd: Path, san: str | None = None, client: bool = False) -> None:
    _key(name, cwd)
    _openssl("req", "-new", "-key", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=cwd)
    ext = ["basicConstraints=CA:FALSE", f"extendedKeyUsage={'clientAuth' if client else 'serverAuth'}"]
    if san:
        ext.append(f"subjectAltName={san}")
    (cwd / f"{name}.ext").write_text("\n".join(ext) + "\n")
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", f"{name}.crt", "-days", "30", "-extfile", f"{name}.ext", cwd=cwd,
    )  # fmt: skip


def make_pki(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "admin.crt").exists():
        return directory
    _key("ca", directory)
    _openssl(
        "req", "-x509", "-new", "-key", "ca.key", "-out", "ca.crt", "-days", "30",
        "-subj", "/CN=meshhealth-testbed-ca", cwd=directory,
    )  # fmt: skip
    _signed("apiserver", "/CN=kube-apiserver", directory,
            san="IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc")  # fmt: skip
    _signed("admin", "/O=system:masters/CN=testbed-admin", directory, client=True)
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=directory)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=directory)
    return directory
