"""`ZStackClient`: queries and async jobs against one ZStack management node."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from ._auth import AccessKeyAuth, AccountAuth, Authenticator, GivenSessionAuth
from ._calls import Caller, is_transient_read
from ._errors import APIError, OperationTimeoutError, truncate
from ._jobs import JobProgress, JobRun
from ._redact import Redactor
from ._retry import DeadlineReached, RetryPolicy
from ._settings import ConnectionSettings
from ._transport import QueryParams, Transport, parse_json

_ASYNC_METHODS = frozenset({"POST", "PUT", "DELETE"})


class ZStackClient:
    """A thread-safe ZStack REST client holding one pooled connection and, for accounts, one session.

    Account credentials log in lazily on first use, log in again once per call when ZStack reports the
    session invalid, and log out on `close`. Deadlines are values of `clock` (``time.monotonic`` unless a
    test injects another clock together with `sleep`).
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        unsent = (settings.account_password, settings.access_key_secret)
        redactor = Redactor(
            *([settings.session_id.get_secret_value()] if settings.session_id else []),
            unsent=(s.get_secret_value() for s in unsent if s is not None),
        )
        self._settings = settings
        self._transport = Transport(settings, redactor=redactor, clock=clock, transport=transport)
        policy = retry or RetryPolicy()
        auth: Authenticator
        method = settings.auth_method
        if method == "access_key":
            assert settings.access_key_id is not None
            assert settings.access_key_secret is not None
            auth = AccessKeyAuth(
                settings.access_key_id,
                settings.access_key_secret.get_secret_value(),
                lambda: datetime.now().astimezone(),
            )
        elif method == "session":
            assert settings.session_id is not None
            auth = GivenSessionAuth(settings.session_id.get_secret_value())
        else:
            auth = AccountAuth(settings, self._transport, redactor, policy=policy, clock=clock, sleep=sleep)
        self._caller = Caller(self._transport, auth, policy, clock, sleep)
        self._close_lock = threading.Lock()
        self._closed = False

    @property
    def settings(self) -> ConnectionSettings:
        return self._settings

    def query(
        self,
        resource: str,
        *conditions: str,
        limit: int | None = None,
        start: int | None = None,
        sort: str | None = None,
        deadline: float | None = None,
    ) -> list[dict[str, Any]]:
        """``GET /zstack/v1/<resource>?q=<condition>&...`` and return its ``inventories``.

        `resource` is e.g. ``"volume-backups"`` or ``"volume-backups/<uuid>"``; `conditions` are ZStack
        query conditions such as ``"groupUuid=<id>"``; `sort` is ``"+field"`` or ``"-field"``. A missing
        ``inventories`` key is an empty list. Transient failures are retried (bounded by the retry policy
        and, when given, by `deadline`, past which `OperationTimeoutError` is raised).
        """
        clock = self._caller.clock
        started = clock()
        api_path = "/v1/" + resource.strip("/")
        operation = f"query of {resource.strip('/')}"
        params: dict[str, Any] = {"q": list(conditions)} if conditions else {}
        for name, value in (("limit", limit), ("start", start), ("sort", sort)):
            if value is not None:
                params[name] = value

        def attempt() -> httpx.Response:
            request, generation = self._caller.request("GET", api_path, params=params, deadline=deadline)
            response = self._transport.send(request)
            if not 200 <= response.status_code < 300:
                raise self._caller.error(response, generation, operation=operation)
            return response

        def with_retries() -> httpx.Response:
            return self._caller.retry(
                attempt, is_transient=is_transient_read, deadline=deadline, what=f"ZStack {operation}"
            )

        if deadline is not None and clock() >= deadline:
            raise OperationTimeoutError(operation=operation, timeout=deadline - started)
        try:
            response = self._caller.with_session_renewal(with_retries)
        except DeadlineReached as exc:
            assert deadline is not None
            raise OperationTimeoutError(
                operation=operation, timeout=deadline - started, last_error=str(exc.last)
            ) from exc.last

        body = parse_json(response)
        inventories = body.get("inventories", []) if isinstance(body, dict) else None
        if not isinstance(inventories, list) or not all(isinstance(i, dict) for i in inventories):
            raise APIError(
                status=response.status_code,
                method="GET",
                path=self._transport.redact(response.request.url.path),
                operation=operation,
                details="the answer has no `inventories` list of objects: "
                + truncate(self._transport.redact(response.text), 200),
                advice="Check that zstack:host and zstack:port point at a ZStack management node.",
            )
        return inventories

    def run_job(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: QueryParams | None = None,
        deadline: float,
        operation: str,
        timeout_hint: str = "",
        on_progress: Callable[[JobProgress], None] | None = None,
        max_poll_interval: float = 10.0,
    ) -> dict[str, Any]:
        """Submit an async API and wait for its job; return the job's JSON result.

        `path` is relative to ``/zstack/v1`` (e.g. ``"/volumes/<uuid>/vm-backups"``); `body` is sent as is
        (``{"params": {...}}`` for POST, ``{"<action>": {...}}`` for PUT); `params` go in the query string.
        The job is polled, with intervals growing to `max_poll_interval`, until ZStack reports it done.

        Raises `JobFailedError` (the job failed; ZStack code in `.code`), `JobNotFoundError`,
        `OperationTimeoutError` once `deadline` passes (its message ends with `timeout_hint`),
        `SessionExpiredError`, `AuthenticationError`, `APIError` or `TransportError`.
        """
        if method.upper() not in _ASYNC_METHODS:
            raise ValueError(f"run_job submits POST, PUT or DELETE APIs, not {method!r}")
        if max_poll_interval <= 0:
            raise ValueError("max_poll_interval must be positive")
        return JobRun(
            self._caller,
            method=method,
            path=path,
            body=body,
            params=params,
            deadline=deadline,
            operation=operation,
            timeout_hint=timeout_hint,
            on_progress=on_progress,
            max_poll_interval=max_poll_interval,
        ).run()

    def close(self) -> None:
        """Log out the session this client created, if any, and close the connection pool. Idempotent."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._caller.auth.close()
        finally:
            self._transport.close()

    def __enter__(self) -> ZStackClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
