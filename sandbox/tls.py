"""A local CA and a server certificate for 127.0.0.1, kept in the sandbox's state dir."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class SandboxTLS:
    ca_path: Path
    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(self.cert_path), str(self.key_path))
        return ctx

    def ca_pem(self) -> bytes:
        return self.ca_path.read_bytes()


def ensure_tls(state_dir: Path) -> SandboxTLS:
    """Create the CA and server certificate once; reuse them on every later start."""
    tls_dir = state_dir / "tls"
    tls = SandboxTLS(tls_dir / "ca.pem", tls_dir / "server.pem", tls_dir / "server-key.pem")
    if tls.ca_path.exists() and tls.cert_path.exists() and tls.key_path.exists():
        return tls
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="multidc sandbox")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(tls.ca_path))
    cert.private_key_pem.write_to_path(str(tls.key_path))
    # Chain: leaf first, then the CA, so clients that only trust the CA verify it.
    with tls.cert_path.open("wb") as f:
        for blob in cert.cert_chain_pems:
            f.write(blob.bytes())
    tls.key_path.chmod(0o600)
    return tls
