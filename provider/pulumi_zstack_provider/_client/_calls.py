"""Authenticated calls and the failure classes the retry logic keys on."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from ._auth import Authenticator
from ._errors import APIError, AuthenticationError, SessionExpiredError, TransportError, error_fields
from ._retry import RetryPolicy, call_with_retry
from ._transport import QueryParams, Transport, is_session_invalid

T = TypeVar("T")

# A 503 with one of these codes is a definite answer, so re-reading cannot change it.
_FINAL_PREFIXES = ("ID.",)
_FINAL_CODES = frozenset({"SYS.1007", "SYS.1003"})


class SessionInvalid(Exception):
    """ZStack refused the session (a control-flow signal, never raised to users).

    `generation` tells the authenticator which credentials were refused.
    """

    def __init__(self, error: APIError, generation: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.generation = generation


def is_transient_read(exc: BaseException) -> bool:
    """Failures worth re-sending a GET for: network trouble, and 502/503/504 without a definite code."""
    if isinstance(exc, AuthenticationError):
        return False  # repeating a refused login can lock the account (LOGIN_CONTROL.*)
    if isinstance(exc, TransportError):
        return exc.transient
    if isinstance(exc, APIError) and exc.status in (502, 503, 504):
        code = exc.code or ""
        return not (code.startswith(_FINAL_PREFIXES) or code in _FINAL_CODES)
    return False


@dataclass
class Caller:
    transport: Transport
    auth: Authenticator
    policy: RetryPolicy
    clock: Callable[[], float]
    sleep: Callable[[float], None]

    def request(
        self,
        method: str,
        api_path: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        deadline: float | None = None,
    ) -> tuple[httpx.Request, int]:
        """An authenticated request, ready to send, and the credential generation it carries."""
        request = self.transport.build(
            method, api_path, json_body=json_body, params=params, headers=headers, deadline=deadline
        )
        return request, self.auth.apply(request)

    def error(self, response: httpx.Response, generation: int, *, operation: str | None) -> APIError:
        """The error for a failed answer; raises `SessionInvalid` when the session was refused."""
        error = self.transport.api_error(response, operation=operation)
        if is_session_invalid(error):
            raise SessionInvalid(error, generation)
        return error

    def retry(
        self,
        fn: Callable[[], T],
        *,
        is_transient: Callable[[BaseException], bool],
        deadline: float | None,
        what: str,
    ) -> T:
        return call_with_retry(
            fn,
            policy=self.policy,
            is_transient=is_transient,
            clock=self.clock,
            sleep=self.sleep,
            deadline=deadline,
            what=what,
        )

    def with_session_renewal(self, fn: Callable[[], T]) -> T:
        """Run `fn`; if ZStack refuses the session, renew it once and run `fn` again."""
        renewed = False
        while True:
            try:
                return fn()
            except SessionInvalid as refused:
                if renewed or not self.auth.renew(refused.generation):
                    raise SessionExpiredError(
                        **error_fields(refused.error), advice=self.auth.expired_advice()
                    ) from None
                renewed = True
