"""One-line errors for pulumi-zstack's own failures, inside Pulumi's dynamic-provider host.

The host (`python -m pulumi.dynamic`, i.e. `pulumi/dynamic/__main__.py`) answers every exception of a
provider with `context.abort(UNKNOWN, traceback.format_exc())` (its `_abort_with_traceback` decorator), so
the user reads a dozen lines of host frames above ZStack's message. The decorator looks `traceback` up in
the host module's globals on every call; `install` replaces that global with a reporter whose
`format_exc()` gives just the message when the exception being handled is one of ours, and the usual
traceback for anything else, so other dynamic providers in the same program keep their tracebacks.

The same hook lets an operation that failed after making its resource hand that resource to the engine:
an exception carrying `status_details` (a serialized `google.rpc.Status` holding Pulumi's
`ErrorResourceInitFailed`) has them sent as the call's `grpc-status-details-bin` trailer, which the engine
reads as "created, but failed to initialize": it keeps the resource and its properties in the state, fails
the operation, and updates the resource at the next `pulumi up`.

`PULUMI_ZSTACK_DEBUG=1` leaves the host as it is (full tracebacks, and no partial results). If a Pulumi
release changes the host so that this no longer fits, `install` changes nothing and prints one warning
line; the errors are then shown with tracebacks, as without this module.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
import types
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.protobuf import struct_pb2

DEBUG_VARIABLE = "PULUMI_ZSTACK_DEBUG"
HOST_MODULE = "pulumi.dynamic.__main__"
# The servicer methods the host wraps with `_abort_with_traceback`; provider errors surface through these.
WRAPPED_METHODS = ("Check", "Diff", "Create", "Read", "Update", "Delete")

#: The gRPC trailer that carries a status's details (grpc-go reads it into `status.Details()`).
STATUS_DETAILS_TRAILER = "grpc-status-details-bin"

_lock = threading.Lock()
_host_refused = False  # the check failed once in this process: warned, never retried


class HostChanged(Exception):
    """The dynamic-provider host no longer reports errors the way `install` relies on."""


class _Reporter:
    """Stands in for the `traceback` module in the host's globals."""

    def __init__(self, real: types.ModuleType) -> None:
        self._real = real
        self.ours: tuple[type[BaseException], ...] = ()

    def format_exc(self, *args: Any, **kwargs: Any) -> str:
        error = sys.exc_info()[1]
        if self.ours and isinstance(error, self.ours):
            details = getattr(error, "status_details", None)
            if isinstance(details, bytes):
                # The caller is the decorator's wrapper, about to abort the call with what this returns.
                context = sys._getframe(1).f_locals.get("context")
                set_trailer = getattr(context, "set_trailing_metadata", None)
                if callable(set_trailer):
                    set_trailer(((STATUS_DETAILS_TRAILER, details),))
            return str(error)
        return str(self._real.format_exc(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def debug_requested(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get(DEBUG_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


def check_host(namespace: Mapping[str, Any]) -> None:
    """Raise `HostChanged` unless `namespace` (the host module's globals) reports errors as expected."""
    if not isinstance(namespace.get("traceback"), types.ModuleType | _Reporter):
        raise HostChanged("it no longer imports the traceback module")
    decorator = namespace.get("_abort_with_traceback")
    if not isinstance(decorator, types.FunctionType):
        raise HostChanged("it has no _abort_with_traceback decorator")
    wrappers = [c for c in decorator.__code__.co_consts if isinstance(c, types.CodeType)]
    if len(wrappers) != 1 or not {"traceback", "format_exc"} <= set(wrappers[0].co_names):
        raise HostChanged("_abort_with_traceback no longer calls traceback.format_exc")
    if "context" not in wrappers[0].co_varnames:
        raise HostChanged("_abort_with_traceback no longer names the call's context `context`")
    servicer = namespace.get("DynamicResourceProviderServicer")
    for method in WRAPPED_METHODS:
        code = getattr(getattr(servicer, method, None), "__code__", None)
        if code is not wrappers[0]:
            raise HostChanged(f"{method} is no longer wrapped by _abort_with_traceback")


def running_host() -> types.ModuleType | None:
    """The host module when this process is `python -m pulumi.dynamic`, else None (tests, mocks)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return main if spec is not None and spec.name == HOST_MODULE else None


def reports_partial_results() -> bool:
    """Whether this process is a host whose error hook is installed, so `status_details` reach the engine."""
    host = running_host()
    return host is not None and isinstance(vars(host).get("traceback"), _Reporter)


def install(*ours: type[BaseException]) -> None:
    """Show exceptions of the `ours` types as their message alone, in this provider process."""
    global _host_refused
    host = running_host()
    if host is None or debug_requested():
        return
    with _lock:
        reporter = vars(host).get("traceback")
        if not isinstance(reporter, _Reporter):
            if _host_refused:
                return
            try:
                check_host(vars(host))
            except HostChanged as changed:
                _host_refused = True
                print(
                    f"warning: pulumi-zstack errors will show Python tracebacks: Pulumi's dynamic-provider "
                    f"host changed ({changed})",
                    file=sys.stderr,
                    flush=True,
                )
                return
            reporter = _Reporter(traceback)
            setattr(host, "traceback", reporter)  # noqa: B010 - a global of the host module
        reporter.ours = tuple({*reporter.ours, *ours})


#: google.rpc.Code UNKNOWN: the code every failed call is aborted with; the details must carry the same.
_UNKNOWN_CODE = 2


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def initialization_failure(resource_id: str, properties: struct_pb2.Struct, message: str) -> bytes:
    """A serialized `google.rpc.Status` whose one detail is Pulumi's `ErrorResourceInitFailed`.

    Encoded here (three fields) rather than with googleapis-common-protos, which the pulumi package only
    brings in indirectly.
    """
    from google.protobuf import any_pb2
    from pulumi.runtime.proto import provider_pb2

    detail = any_pb2.Any()
    failed = provider_pb2.ErrorResourceInitFailed(id=resource_id, properties=properties, reasons=[message])
    detail.Pack(failed)
    return (
        _varint(1 << 3)
        + _varint(_UNKNOWN_CODE)
        + _field(2, message.encode())
        + _field(3, detail.SerializeToString())
    )
