"""Stand-in for Pulumi's Go Python language host (`pulumi-language-python`).

The Go module proxy we build the CLI from refuses the untagged Go language-host module, so
`scripts/provide-engine` installs this file beside the real `pulumi` as `pulumi_language_python_host.py`
with a `pulumi-language-python` launcher that runs it under `$PULUMI_PYTHON_CMD`.

It mirrors the Go host (sdk/python/cmd/pulumi-language-python/main.go) for what `preview`, `up`,
`refresh`, `destroy`, `import` and `about` need: `Run` starts the real `pulumi-language-python-exec`
shim with the same command line and environment. The virtual environment is prepared by us, so
dependency installation and plugin discovery are no-ops, and the `virtualenv`/`typechecker` runtime
options and the uv/poetry toolchains are refused rather than ignored.

Usage (by the engine): pulumi-language-python [flags] ENGINE_ADDRESS
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

VERSION = "3.274.1"
EXECUTOR_NAME = "pulumi-language-python-exec"

# The exec shim exits with this code after it has already shown the user an actionable message.
_EXIT_ERROR_ALREADY_SHOWN = 32

# Flags the engine or the Go host's own command line may pass with their value as the next argument;
# without this list such a value would be mistaken for the engine address.
_FLAGS_WITH_VALUE = frozenset(
    {"tracing", "use-executor", "virtualenv", "root", "typechecker", "toolchain", "v"}
)

# Same limit as the engine's own gRPC channels, so a large configuration cannot fail the Run call.
_MAX_MESSAGE_BYTES = 400 * 1024 * 1024

# The Go host checks every 5 minutes; a shorter period frees the port sooner when the CLI dies.
_ENGINE_HEALTH_PERIOD_S = 10.0
_ENGINE_HEALTH_TIMEOUT_S = 10.0

_CHILD_STOP_GRACE_S = 5.0
_PYTHON_VERSION_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class HostArgs:
    """What the command line tells the host."""

    engine_address: str | None
    executor: str | None


def parse_args(argv: Sequence[str]) -> HostArgs:
    """Parse Go-style flags (`-name value`, `--name=value`, boolean `-name`) and the engine address.

    Unknown flags are accepted and ignored, as they may come from newer engines.
    """
    engine_address: str | None = None
    executor: str | None = None
    args = iter(argv)
    for arg in args:
        if arg == "--":
            engine_address = next(args, None)
            break
        if not arg.startswith("-") or arg == "-":
            engine_address = arg
            break
        name, has_value, value = arg.lstrip("-").partition("=")
        if not has_value and name in _FLAGS_WITH_VALUE:
            value = next(args, "")
        if name == "use-executor" and value:
            executor = value
    return HostArgs(engine_address=engine_address or None, executor=executor)


def construct_arguments(request: Any, engine_address: str | None) -> list[str]:
    """The exec shim's arguments for a RunRequest, in the Go host's order, empty values left out."""
    args: list[str] = []
    for flag, value in (
        ("monitor", request.monitor_address),
        ("engine", engine_address or ""),
        ("project", request.project),
        ("root_directory", request.info.root_directory),
        ("stack", request.stack),
        ("pwd", request.pwd),
        ("dry_run", "true" if request.dryRun else "false"),
        ("parallel", str(request.parallel)),
        ("organization", request.organization),
    ):
        if value:
            args += [f"--{flag}", value]
    args.append(request.info.entry_point or request.program or ".")
    args.extend(request.args)
    return args


def python_command() -> str:
    """The interpreter for programs: the one the engine chose for the whole stack, else our own."""
    return os.environ.get("PULUMI_PYTHON_CMD") or sys.executable


def unsupported_options(options: dict[str, Any]) -> list[str]:
    """Runtime options this host cannot honour; ignoring them would change the interpreter or checks."""
    problems = [f"{name}={options[name]!r}" for name in ("virtualenv", "typechecker") if options.get(name)]
    toolchain = options.get("toolchain", "pip")
    if toolchain != "pip":
        problems.append(f"toolchain={toolchain!r}")
    return problems


def _requirement_name(requirement: str) -> str | None:
    # Requirements only needed for an optional extra do not make a distribution "required".
    if re.search(r"\bextra\s*==", requirement):
        return None
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    return _normalize(match.group(0)) if match else None


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions(transitive: bool) -> list[tuple[str, str]]:
    """(name, version) of the distributions importable by this interpreter, sorted by name.

    Without `transitive`, only those no other installed distribution requires (pip's `--not-required`).
    """
    found: dict[str, importlib.metadata.Distribution] = {}
    for dist in importlib.metadata.distributions():
        if dist.name:
            found.setdefault(_normalize(dist.name), dist)
    if not transitive:
        required = {
            req_name
            for dist in found.values()
            for requirement in dist.requires or ()
            if (req_name := _requirement_name(requirement))
        }
        found = {key: dist for key, dist in found.items() if key not in required}
    return sorted((dist.name, dist.version) for dist in found.values())


class _Programs:
    """Runs programs, and stops those still running at shutdown so that none is left orphaned."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._closed = False

    def run(self, argv: Sequence[str], cwd: str | None, env: dict[str, str]) -> int:
        """Run a program to its end and return its exit code (negative: killed by that signal)."""
        with self._lock:
            if self._closed:
                raise ChildProcessError("the language host is shutting down")
            # stdout/stderr are inherited: the engine shows what the language host writes.
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL)
            self._running.add(proc)
        try:
            return proc.wait()
        finally:
            with self._lock:
                self._running.discard(proc)

    def stop_all(self) -> None:
        with self._lock:
            self._closed = True
            running = list(self._running)
        for proc in running:
            proc.terminate()
        for proc in running:
            try:
                proc.wait(timeout=_CHILD_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=_CHILD_STOP_GRACE_S)


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    """The LanguageRuntime service for Python programs."""

    def __init__(self, engine_address: str | None, executor: str) -> None:
        self._engine_address = engine_address
        self._executor = executor
        self.programs = _Programs()

    def GetPluginInfo(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> Any:
        return plugin_pb2.PluginInfo(version=VERSION)

    def GetRequiredPlugins(self, request: Any, context: grpc.ServicerContext) -> Any:
        return language_pb2.GetRequiredPluginsResponse()

    def GetRequiredPackages(self, request: Any, context: grpc.ServicerContext) -> Any:
        # The Go host reports installed `pulumi-*` distributions as resource plugins; ours need none,
        # and reporting them would make the engine try to download plugins.
        return language_pb2.GetRequiredPackagesResponse()

    def InstallDependencies(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        yield language_pb2.InstallDependenciesResponse(
            stdout=b"Dependencies are installed outside Pulumi for this project; nothing to do.\n"
        )

    def RuntimeOptionsPrompts(self, request: Any, context: grpc.ServicerContext) -> Any:
        return language_pb2.RuntimeOptionsResponse()

    def About(self, request: Any, context: grpc.ServicerContext) -> Any:
        python = python_command()
        try:
            version = subprocess.run(
                [python, "--version"],
                capture_output=True,
                text=True,
                timeout=_PYTHON_VERSION_TIMEOUT_S,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            return context.abort(grpc.StatusCode.UNKNOWN, f"failed to get the version of {python}: {exc}")
        return language_pb2.AboutResponse(
            executable=shutil.which(python) or python, version=version.strip().removeprefix("Python ")
        )

    def GetProgramDependencies(self, request: Any, context: grpc.ServicerContext) -> Any:
        return language_pb2.GetProgramDependenciesResponse(
            dependencies=[
                language_pb2.DependencyInfo(name=name, version=version)
                for name, version in installed_distributions(request.transitiveDependencies)
            ]
        )

    def Run(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.attach_debugger:
            return language_pb2.RunResponse(
                error="the stand-in Python language host cannot attach a debugger"
            )
        options = json_format.MessageToDict(request.info.options)
        problems = unsupported_options(options)
        if problems:
            return language_pb2.RunResponse(
                error="runtime options not supported by the stand-in Python language host: "
                + ", ".join(problems)
            )

        argv = [python_command(), "-u", self._executor, *construct_arguments(request, self._engine_address)]
        env = {
            **os.environ,
            "PULUMI_CONFIG": json.dumps(dict(request.config)),
            "PULUMI_CONFIG_SECRET_KEYS": json.dumps(list(request.configSecretKeys)),
        }
        cwd = request.info.program_directory or request.pwd or None
        try:
            code = self.programs.run(argv, cwd, env)
        except OSError as exc:
            return language_pb2.RunResponse(
                error=f"problem executing program (could not run language executor): {exc}"
            )
        if code == 0:
            return language_pb2.RunResponse()
        if code == _EXIT_ERROR_ALREADY_SHOWN:
            return language_pb2.RunResponse(bail=True)
        if code < 0:
            reason = f"killed by signal {signal.Signals(-code).name}"
            return language_pb2.RunResponse(error=f"program exited unexpectedly: {reason}")
        return language_pb2.RunResponse(error=f"program exited with non-zero exit code: {code}")


def _watch_engine(engine_address: str, stop: threading.Event) -> None:
    """Stop the host once the engine no longer answers, like the Go host's health check."""
    with grpc.insecure_channel(engine_address) as channel:
        # An empty HealthCheckRequest encodes to no bytes; the reply content does not matter.
        check = channel.unary_unary("/grpc.health.v1.Health/Check")
        while not stop.wait(_ENGINE_HEALTH_PERIOD_S):
            try:
                check(b"", timeout=_ENGINE_HEALTH_TIMEOUT_S)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                    stop.set()


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    executor = args.executor or str(Path(__file__).resolve().parent / EXECUTOR_NAME)
    if not Path(executor).is_file():
        print(f"pulumi-language-python: missing executor {executor}", file=sys.stderr)
        return 1

    host = LanguageHost(args.engine_address, executor)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        options=[
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
        ],
    )
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")

    # The engine closes plugins with SIGINT to their process group (SIGKILL 5 seconds later), possibly
    # right after reading the port. Raising KeyboardInterrupt in the main thread, unlike setting an
    # Event from a handler, cannot deadlock. SIGINT is set too because a shell starts background jobs
    # with it ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        server.start()
        print(port, flush=True)
        engine_gone = threading.Event()
        if args.engine_address:
            watchdog = threading.Thread(
                target=_watch_engine, args=(args.engine_address, engine_gone), daemon=True
            )
            watchdog.start()
        engine_gone.wait()
    stopped = server.stop(grace=1.0)  # refuses new calls at once, so no program starts after stop_all
    host.programs.stop_all()
    stopped.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
