"""`zstack-simulator`: serve a simulated ZStack management node until interrupted."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ._server import TlsMaterial, bind_socket, build_server
from ._settings import Settings
from ._simulator import Simulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zstack-simulator", description="A local ZStack Cloud REST API simulator (VM backups)."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on, 0 for any free one (8080)")
    parser.add_argument(
        "--seed", type=Path, help="JSON seed file; its top-level keys replace the default seed's"
    )
    parser.add_argument("--state", type=Path, help="keep data in this JSON file across restarts")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a certificate made by trustme")
    parser.add_argument(
        "--tls-dir", type=Path, help="where --tls writes its files (default: a temporary dir)"
    )
    parser.add_argument(
        "--fast", action="store_true", help="test timings: jobs end on the 2nd poll or after 0.2 s"
    )
    parser.add_argument("--job-duration", type=float, metavar="SECONDS", help="seconds an async job runs")
    parser.add_argument(
        "--job-polls", type=int, metavar="N", help="a job answers on its Nth poll (if sooner)"
    )
    parser.add_argument("--session-timeout", type=float, metavar="SECONDS", help="session lifetime (7200)")
    parser.add_argument(
        "--job-record-ttl", type=float, metavar="SECONDS", help="finished job lifetime (10800)"
    )
    parser.add_argument("--e-notation", action="store_true", help="send Long numbers like 1.073741824E9")
    parser.add_argument("--internal-host", help="host written into job locations (default 192.0.2.10)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.fast() if args.fast else Settings()
    if args.job_duration is not None:
        settings.job_seconds = args.job_duration
    if args.job_polls is not None:
        settings.job_polls = args.job_polls
    if args.session_timeout is not None:
        settings.session_timeout = args.session_timeout
    if args.job_record_ttl is not None:
        settings.job_record_ttl = args.job_record_ttl
    if args.internal_host is not None:
        settings.internal_host = args.internal_host
    settings.e_notation = args.e_notation
    return settings


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        simulator = Simulator(_settings(args), seed=args.seed, state_file=args.state)
    except (ValueError, OSError) as exc:
        raise SystemExit(f"zstack-simulator: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="zstack-simulator-") as scratch:
        tls = TlsMaterial.generate(args.tls_dir or Path(scratch)) if args.tls else None
        try:
            sock = bind_socket(args.host, args.port)
        except OSError as exc:
            raise SystemExit(f"zstack-simulator: cannot listen on {args.host}:{args.port}: {exc}") from None
        port = sock.getsockname()[1]
        host = f"[{args.host}]" if ":" in args.host else args.host
        base_url = f"{'https' if tls else 'http'}://{host}:{port}"
        credentials = simulator.credentials
        facts = [
            ("base-url", base_url),
            ("api-url", f"{base_url}/zstack/v1"),
            ("admin-url", f"{base_url}/_simulator"),
            ("account-name", credentials.account_name),
            ("account-password", credentials.account_password),
            ("access-key-id", credentials.access_key_id),
            ("access-key-secret", credentials.access_key_secret),
            ("ca-bundle", str(tls.ca_file) if tls else None),
            ("state-file", str(args.state) if args.state else None),
        ]
        for name, value in facts:
            if value is not None:
                print(f"{name}: {value}")
        print("ready", flush=True)
        with sock:
            build_server(simulator, tls).run(sockets=[sock])


if __name__ == "__main__":
    main()
