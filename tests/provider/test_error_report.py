"""pulumi-zstack's errors read as one line in Pulumi's dynamic-provider host; other providers keep tracebacks.

The host module is the `pulumi/dynamic/__main__.py` of the installed `pulumi` wheel, loaded without its
final `main()` call. If a Pulumi upgrade changes how the host reports errors, the first test fails here
instead of users silently getting tracebacks back.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import traceback
import types
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any

import pytest
from pulumi_zstack_provider import _error_report
from pulumi_zstack_provider._error_report import initialization_failure
from pulumi_zstack_provider._provider import PartialResultError, ProviderError

pytestmark = pytest.mark.unit

ZSTACK_MESSAGE = "CreateVmBackup failed (SYS.1007): backup storage 3000 is disconnected. Fix zstack:host."


class FakeContext:
    """The part of grpc.ServicerContext the host's decorator uses."""

    def __init__(self) -> None:
        self.details: str | None = None
        self.trailers: tuple[tuple[str, bytes], ...] = ()

    def abort(self, code: Any, details: str) -> None:
        self.details = details

    def set_trailing_metadata(self, metadata: tuple[tuple[str, bytes], ...]) -> None:
        self.trailers = metadata


def _installed_host() -> types.ModuleType:
    spec = importlib.util.find_spec(_error_report.HOST_MODULE)
    assert spec is not None
    assert spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(), spec.origin)
    # The module ends by serving forever; everything above it only defines things.
    tree.body = [
        node
        for node in tree.body
        if not (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and ast.unparse(node) == "main()"
        )
    ]
    module = types.ModuleType("pulumi_dynamic_host_under_test")
    module.__spec__ = ModuleSpec(_error_report.HOST_MODULE, None)
    exec(compile(tree, spec.origin, "exec"), module.__dict__)  # noqa: S102 - Pulumi's own installed code
    return module


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """The installed host, as `__main__` of this process (as in `python -m pulumi.dynamic`)."""
    module = _installed_host()
    monkeypatch.setitem(sys.modules, "__main__", module)
    monkeypatch.setattr(_error_report, "_host_refused", False)
    monkeypatch.delenv(_error_report.DEBUG_VARIABLE, raising=False)
    return module


def _aborted(host: types.ModuleType, error: Exception) -> FakeContext:
    """The context of a call whose provider method raised `error`, as the host left it."""

    def failing(self: object, request: object, context: object) -> None:
        raise error

    wrapped: Callable[[object, object, FakeContext], None] = host._abort_with_traceback(failing)
    context = FakeContext()
    wrapped(None, None, context)
    return context


def _reported(host: types.ModuleType, error: Exception) -> str:
    """What the host sends the engine when a provider method raises `error`."""
    details = _aborted(host, error).details
    assert details is not None
    return details


def test_a_partial_result_reaches_the_engine_as_a_resource_that_failed_to_initialise(
    host: types.ModuleType,
) -> None:
    from google.protobuf import struct_pb2
    from pulumi.runtime.proto import provider_pb2, status_pb2  # google.rpc.Status, as Pulumi ships it

    _error_report.install(ProviderError)
    assert _error_report.reports_partial_results()
    message = "VmBackup 4b2a: the copy of backup group 4b2a to backup storage 3000 failed: disconnected."
    properties = struct_pb2.Struct()
    properties.update({"group_uuid": "4b2a", "copy_pending": ["3000"]})
    details = initialization_failure("4b2a", properties, message)

    context = _aborted(host, PartialResultError(message, details))

    assert context.details == message
    [(key, value)] = context.trailers
    assert key == "grpc-status-details-bin"
    status = status_pb2.Status.FromString(value)
    assert (status.code, status.message) == (2, message)  # UNKNOWN, as the host aborts the call
    failed = provider_pb2.ErrorResourceInitFailed()
    assert status.details[0].Unpack(failed)
    assert (failed.id, list(failed.reasons)) == ("4b2a", [message])
    assert dict(failed.properties)["copy_pending"] == ["3000"]


def test_outside_the_host_a_partial_result_cannot_be_reported() -> None:
    assert not _error_report.reports_partial_results()


def test_the_installed_pulumi_host_reports_errors_the_way_the_hook_expects(host: types.ModuleType) -> None:
    _error_report.check_host(vars(host))


def test_our_errors_become_one_line_and_other_errors_keep_their_traceback(host: types.ModuleType) -> None:
    _error_report.install(ProviderError)

    assert _reported(host, ProviderError(ZSTACK_MESSAGE)) == ZSTACK_MESSAGE
    other = _reported(host, RuntimeError("another provider failed"))
    assert other.startswith("Traceback (most recent call last)")
    assert other.rstrip().endswith("RuntimeError: another provider failed")


def test_installing_twice_keeps_one_hook(host: types.ModuleType) -> None:
    _error_report.install(ProviderError)
    hook = host.traceback
    _error_report.install(ProviderError)

    assert host.traceback is hook
    assert _reported(host, ProviderError(ZSTACK_MESSAGE)) == ZSTACK_MESSAGE


def test_pulumi_zstack_debug_keeps_full_tracebacks(
    host: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_error_report.DEBUG_VARIABLE, "1")

    _error_report.install(ProviderError)

    assert host.traceback is traceback
    shown = _reported(host, ProviderError(ZSTACK_MESSAGE))
    assert shown.startswith("Traceback (most recent call last)")
    assert f"ProviderError: {ZSTACK_MESSAGE}" in shown


def test_a_changed_host_is_left_alone_with_one_warning_line(
    host: types.ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    def _abort_with_traceback(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: object, request: object, context: FakeContext) -> Any:
            try:
                return fn(self, request, context)
            except Exception as exc:
                context.abort(None, "".join(traceback.format_exception(exc)))
                return None

        return wrapper

    host._abort_with_traceback = _abort_with_traceback

    _error_report.install(ProviderError)
    _error_report.install(ProviderError)

    assert host.traceback is traceback
    warnings = capsys.readouterr().err.splitlines()
    assert len(warnings) == 1
    assert "pulumi-zstack errors will show Python tracebacks" in warnings[0]
    assert "_abort_with_traceback no longer calls traceback.format_exc" in warnings[0]


def test_outside_the_host_nothing_is_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    main = sys.modules["__main__"]
    before = dict(vars(main))

    _error_report.install(ProviderError)

    assert _error_report.running_host() is None
    assert vars(main) == before
