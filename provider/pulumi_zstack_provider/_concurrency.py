"""How many ZStack operations the provider process runs at once.

Pulumi's dynamic-provider host (``python -m pulumi.dynamic``) serves every gRPC call of every dynamic
provider of a program from one ``ThreadPoolExecutor(max_workers=4)``, created in its ``main()``. A create
that waits for its ZStack job holds one of those four threads for the whole job, so a fleet of backups would
run in waves of four. `configure` runs in that same process before any create, so it widens the pool there:
to the user's cap (`zstack:maxConcurrentOperations`) plus the host's own four threads, which stay free for
checks, diffs and the other dynamic providers of the program. `operation_slot` bounds our own operations to
the cap, so a fleet larger than the cap queues instead of flooding the management node. An operation that
queues holds a host thread while it waits, so each one that has to wait widens the pool by one more thread:
however many operations the engine sends at once, four threads stay free for checks and diffs, which never
wait for a ZStack job.

When the host is not the one this was written against, the pool is left alone, one warning line says so,
and operations run four at a time as before. The native plugin (`native`) runs each operation on a thread
pool of its own, sized for the largest cap, so there is no host pool to widen: it configures with
``dynamic_host=False``.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from types import FrameType
from typing import Any

from ._client._errors import ConfigurationError
from ._client._settings import (
    DEFAULT_MAX_CONCURRENT_OPERATIONS,
    MAX_CONCURRENT_OPERATIONS,
    resolve_max_concurrent_operations,
)

#: The module the engine runs as the dynamic-provider host (`python -m pulumi.dynamic`).
HOST_MODULE = "pulumi.dynamic.__main__"
#: Threads the host starts with; they stay available on top of the cap.
HOST_WORKERS = 4


class HostPoolNotFound(Exception):
    """The running process is not a dynamic-provider host whose worker pool can be widened."""


class OperationSlots:
    """At most `size` operations at once; the others wait their turn. The size can change while in use."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._busy = 0
        self._waiting = 0
        self._changed = threading.Condition()

    @property
    def size(self) -> int:
        return self._size

    def resize(self, size: int) -> None:
        with self._changed:
            self._size = size
            self._changed.notify_all()

    @property
    def waiting(self) -> int:
        return self._waiting

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._changed:
            if self._busy >= self._size:
                self._waiting += 1
                _keep_host_threads_free(self._size + self._waiting)
                self._changed.wait_for(lambda: self._busy < self._size)
                self._waiting -= 1
            self._busy += 1
        try:
            yield
        finally:
            with self._changed:
                self._busy -= 1
                self._changed.notify_all()


_slots = OperationSlots(DEFAULT_MAX_CONCURRENT_OPERATIONS)
_in_dynamic_host = True
_warned = False
_warn_lock = threading.Lock()


def operation_slot() -> AbstractContextManager[None]:
    """Hold one of the `zstack:maxConcurrentOperations` slots for the duration of a `with` block."""
    return _slots.slot()


def _host_main_frame() -> FrameType:
    frame = sys._current_frames().get(threading.main_thread().ident or 0)
    while frame is not None:
        spec = frame.f_globals.get("__spec__")
        if frame.f_code.co_name == "main" and getattr(spec, "name", None) == HOST_MODULE:
            return frame
        frame = frame.f_back
    raise HostPoolNotFound(f"the main thread is not running {HOST_MODULE}.main()")


def find_host_pool() -> ThreadPoolExecutor:
    """The worker pool of the gRPC server that the running host's ``main()`` holds in its `server` local."""
    server = _host_main_frame().f_locals.get("server")
    if server is None:
        raise HostPoolNotFound(f"{HOST_MODULE}.main() has no `server` variable")
    pool = getattr(getattr(server, "_state", None), "thread_pool", None)
    if not isinstance(pool, ThreadPoolExecutor):
        raise HostPoolNotFound(f"the gRPC server has no ThreadPoolExecutor (found {type(pool).__name__})")
    if not isinstance(getattr(pool, "_max_workers", None), int) or not hasattr(pool, "_shutdown_lock"):
        raise HostPoolNotFound("the gRPC server's ThreadPoolExecutor has no `_max_workers` to raise")
    return pool


def widen_host_pool(workers: int) -> int:
    """Let the host run up to `workers` gRPC calls at once (it never shrinks); return the pool's size.

    ThreadPoolExecutor starts a new thread on `submit` while it has fewer than `_max_workers` and none idle,
    so raising that bound takes effect from the next call the server hands it.
    """
    pool = find_host_pool()
    with pool._shutdown_lock:  # the lock `submit` holds while it adds threads
        pool._max_workers = max(pool._max_workers, workers)
        return pool._max_workers


def _keep_host_threads_free(operations: int) -> None:
    """Make room in the host's pool for `operations` of ours (running or queued) plus its own threads."""
    if not _in_dynamic_host:
        return
    try:
        widen_host_pool(operations + HOST_WORKERS)
    except HostPoolNotFound as error:
        _warn_once(str(error))


def _warn_once(reason: str) -> None:
    global _warned
    with _warn_lock:
        if _warned:
            return
        _warned = True
    print(
        f"zstack: warning: cannot widen the Pulumi dynamic-provider host's worker pool ({reason}); "
        f"ZStack operations run {HOST_WORKERS} at a time",
        file=sys.stderr,
        flush=True,
    )


def configure(config: Mapping[str, Any], *, dynamic_host: bool = True) -> None:
    """Apply `zstack:maxConcurrentOperations` (or its environment variable) to this process.

    `dynamic_host`: the process is Pulumi's dynamic-provider host, whose worker pool must be widened.
    """
    global _in_dynamic_host
    _in_dynamic_host = dynamic_host
    raw = config.get(MAX_CONCURRENT_OPERATIONS.key)
    try:
        limit = resolve_max_concurrent_operations(
            {} if raw is None else {MAX_CONCURRENT_OPERATIONS.key: str(raw)}, os.environ
        )
    except ConfigurationError:
        limit = DEFAULT_MAX_CONCURRENT_OPERATIONS  # check reports the bad value, naming the key
    _slots.resize(limit)
    _keep_host_threads_free(limit + _slots.waiting)
