"""Running a Simulator over real HTTP(S) with uvicorn, in a background thread or in the foreground."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ._app import ABORT_EXTENSION, create_app
from ._simulator import Simulator

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class TlsMaterial:
    """A server certificate for 127.0.0.1/localhost and the CA bundle a client must trust."""

    cert_file: Path
    key_file: Path
    ca_file: Path

    @classmethod
    def generate(cls, directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TlsMaterial:
        """Issue a fresh CA and certificate with `trustme` (a test extra) into `directory`."""
        try:
            import trustme  # only TLS needs this test extra
        except ImportError:
            raise RuntimeError("TLS needs the `trustme` package (pip install trustme)") from None
        directory.mkdir(parents=True, exist_ok=True)
        authority = trustme.CA()
        certificate = authority.issue_cert(*hosts)
        material = cls(directory / "server.pem", directory / "server.key", directory / "ca.pem")
        certificate.cert_chain_pems[0].write_to_path(str(material.cert_file))
        for pem in certificate.cert_chain_pems[1:]:
            pem.write_to_path(str(material.cert_file), append=True)
        certificate.private_key_pem.write_to_path(str(material.key_file))
        authority.cert_pem.write_to_path(str(material.ca_file))
        return material


class _AbortableH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a scope extension that lets the app drop the connection unanswered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        inner = self.app

        async def app(scope: Any, receive: Any, send: Any) -> None:
            extensions = cast(dict[str, Any], scope.setdefault("extensions", {}))
            extensions[ABORT_EXTENSION] = self._abort
            await inner(scope, receive, send)

        self.app = app

    def _abort(self) -> None:
        self.transport.abort()


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # An explicit IPPROTO_TCP makes asyncio set TCP_NODELAY on accepted connections; without it Nagle's
    # algorithm meets delayed ACKs and every keep-alive answer takes ~40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def build_server(simulator: Simulator, tls: TlsMaterial | None) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(simulator),
        http=_AbortableH11Protocol,
        ws="none",
        lifespan="off",
        # Access logs would print request paths, and session ids travel in some of them.
        access_log=False,
        log_config=None,
        log_level="warning",
        timeout_graceful_shutdown=1,
        ssl_certfile=str(tls.cert_file) if tls else None,
        ssl_keyfile=str(tls.key_file) if tls else None,
    )
    return uvicorn.Server(config)


@dataclass(frozen=True)
class RunningSimulator:
    """A simulator being served; `base_url` is scheme://host:port (the API lives under `/zstack/v1`)."""

    simulator: Simulator
    host: str
    port: int
    scheme: str
    ca_bundle: Path | None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/zstack/v1"

    @property
    def admin_url(self) -> str:
        return f"{self.base_url}/_simulator"


@contextmanager
def serve(
    simulator: Simulator, host: str = "127.0.0.1", port: int = 0, tls: TlsMaterial | bool | None = None
) -> Iterator[RunningSimulator]:
    """Serve `simulator` from a background thread until the block ends.

    `port=0` picks a free port. `tls=True` makes a throw-away trustme CA; its bundle is `ca_bundle`.
    """
    with ExitStack() as stack:
        material: TlsMaterial | None
        if tls is True:
            material = TlsMaterial.generate(Path(stack.enter_context(tempfile.TemporaryDirectory())))
        else:
            material = tls or None
        sock = stack.enter_context(bind_socket(host, port))
        server = build_server(simulator, material)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="zstack-simulator", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        if not server.started:
            server.should_exit = True
            thread.join(_STOP_TIMEOUT)
            raise RuntimeError(f"the simulator did not start on {host}:{sock.getsockname()[1]}")
        try:
            yield RunningSimulator(
                simulator=simulator,
                host=host,
                port=int(sock.getsockname()[1]),
                scheme="https" if material else "http",
                ca_bundle=material.ca_file if material else None,
            )
        finally:
            server.should_exit = True
            thread.join(_STOP_TIMEOUT)
