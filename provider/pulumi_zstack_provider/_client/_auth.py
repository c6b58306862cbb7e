"""ZStack authentication: account sessions, a given session id, or AccessKey request signing.

AccessKey caveat: ZStack checks the ``Date`` header against its own *local wall-clock time* and refuses
requests more than 15 minutes off (403 ``requestTimeTooSkewed``); by default it ignores the zone name.
So this machine's clock, read in its local zone, must be within 15 minutes of the management node's local
time: run both in the same time zone, or use account authentication.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx

from ._errors import AuthenticationError, TransportError, ZStackError
from ._redact import Redactor
from ._retry import RetryPolicy, call_with_retry
from ._settings import ConnectionSettings
from ._transport import Transport, parse_json

_log = logging.getLogger("pulumi_zstack")

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CONTEXT_PATH = "/zstack"


def password_hash(password: str) -> str:
    """What ZStack expects as the login password: lowercase hex SHA-512 of the UTF-8 text."""
    return hashlib.sha512(password.encode("utf-8")).hexdigest()


def access_key_signature(secret: str, method: str, date: str, path: str) -> str:
    """Base64 HMAC-SHA1 over ``METHOD\\nDate\\npath``; `path` starts at ``/v1/`` and has no query string."""
    string_to_sign = f"{method.upper()}\n{date}\n{path}"
    digest = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def http_date(moment: datetime) -> str:
    """`moment` as ``EEE, dd MMM yyyy HH:mm:ss z`` in English, e.g. ``Fri, 06 Aug 2021 17:58:34 CST``.

    A naive `moment` is taken as local time. Zones without an abbreviation (``+0630``) are written as
    ``GMT+06:30``, a form Java's zone-text parser accepts.
    """
    local = moment.astimezone() if moment.tzinfo is None else moment
    zone = local.tzname() or ""
    if not zone.isalpha():
        offset = local.utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        zone = f"GMT{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return (
        f"{_DAYS[local.weekday()]}, {local.day:02d} {_MONTHS[local.month - 1]} {local.year:04d} "
        f"{local.hour:02d}:{local.minute:02d}:{local.second:02d} {zone}"
    )


def _api_path(request: httpx.Request) -> str:
    path = request.url.path  # already percent-decoded, as ZStack signs it
    return path[len(_CONTEXT_PATH) :] if path.startswith(_CONTEXT_PATH + "/") else path


class Authenticator(ABC):
    """Puts credentials on requests and renews them when ZStack says the session is invalid."""

    @abstractmethod
    def apply(self, request: httpx.Request) -> int:
        """Add the auth headers; return the credential generation they belong to."""

    def renew(self, generation: int) -> bool:
        """Get fresh credentials after `generation` was refused; False when that is impossible."""
        return False

    @abstractmethod
    def expired_advice(self) -> str:
        """What to tell the user when the session stays invalid."""

    @abstractmethod
    def close(self) -> None:
        """Release server-side state (the session), if any."""


class AccessKeyAuth(Authenticator):
    def __init__(self, key_id: str, secret: str, now: Callable[[], datetime]) -> None:
        self._key_id = key_id
        self._secret = secret
        self._now = now

    def apply(self, request: httpx.Request) -> int:
        date = http_date(self._now())
        signature = access_key_signature(self._secret, request.method, date, _api_path(request))
        request.headers["Date"] = date
        request.headers["Authorization"] = f"ZStack {self._key_id}:{signature}"
        return 0

    def close(self) -> None:
        """Nothing to release: requests are signed one by one."""

    def expired_advice(self) -> str:
        return (
            "ZStack refused the access key session; check that the key `zstack:accessKeyId` "
            "(ZSTACK_ACCESS_KEY_ID) is still enabled."
        )


class GivenSessionAuth(Authenticator):
    """A session id from `zstack:sessionId`: used as is, and never renewed (there is no password)."""

    def __init__(self, session_id: str) -> None:
        self._session_id = session_id

    def apply(self, request: httpx.Request) -> int:
        request.headers["Authorization"] = f"OAuth {self._session_id}"
        return 0

    def close(self) -> None:
        """The session belongs to whoever created it, so it is not logged out."""

    def expired_advice(self) -> str:
        return (
            "The session id set in `zstack:sessionId` (ZSTACK_SESSION_ID) is invalid or expired and cannot "
            "be renewed: set a fresh one, or set `zstack:accountName` / `zstack:accountPassword` or "
            "`zstack:accessKeyId` / `zstack:accessKeySecret` instead so the provider can log in itself."
        )


class AccountAuth(Authenticator):
    """One lazily created session shared by all threads, renewed once per call when ZStack rejects it."""

    def __init__(
        self,
        settings: ConnectionSettings,
        transport: Transport,
        redactor: Redactor,
        *,
        policy: RetryPolicy,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        assert settings.account_name is not None
        assert settings.account_password is not None
        self._account = settings.account_name
        self._password_hash = password_hash(settings.account_password.get_secret_value())
        redactor.add(self._password_hash)
        self._transport = transport
        self._redact = redactor
        self._policy = policy
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._session: str | None = None
        self._generation = 0

    def apply(self, request: httpx.Request) -> int:
        with self._lock:
            if self._session is None:
                self._login()
            assert self._session is not None
            request.headers["Authorization"] = f"OAuth {self._session}"
            return self._generation

    def renew(self, generation: int) -> bool:
        with self._lock:
            # Another thread may have logged in again already; its session is fresh.
            if generation == self._generation:
                _log.info("ZStack session is no longer valid; logging in again as %r", self._account)
                self._session = None
                self._login()
            return True

    def expired_advice(self) -> str:
        return (
            "ZStack kept rejecting the session even after logging in again; check the management node's "
            "session settings and that the account is not being logged out elsewhere, then retry."
        )

    def _login(self) -> None:
        body = {"logInByAccount": {"accountName": self._account, "password": self._password_hash}}

        def attempt() -> str:
            request = self._transport.build("PUT", "/v1/accounts/login", json_body=body)
            response = self._transport.send(request)
            if response.status_code != 200:
                raise self._transport.api_error(response, operation=f"login as account {self._account!r}")
            answer = parse_json(response)
            inventory = answer.get("inventory") if isinstance(answer, dict) else None
            session = inventory.get("uuid") if isinstance(inventory, dict) else None
            if not isinstance(session, str) or not session:
                raise AuthenticationError(
                    status=response.status_code,
                    method="PUT",
                    path=request.url.path,
                    operation=f"login as account {self._account!r}",
                    details="the answer carries no session uuid",
                    advice="Check that zstack:host and zstack:port point at a ZStack management node.",
                )
            return session

        try:
            session = call_with_retry(
                attempt,
                policy=self._policy,
                # Only an unsent login is retried: a lost answer would leave a session nobody logs out.
                is_transient=lambda exc: (
                    isinstance(exc, TransportError) and exc.transient and not exc.request_sent
                ),
                clock=self._clock,
                sleep=self._sleep,
                deadline=None,
                what=f"ZStack login as {self._account!r}",
            )
        except TransportError as exc:
            # Retried here already; the retry loop around the caller's request must not multiply attempts.
            exc.transient = False
            raise
        self._redact.add(session)
        self._session = session
        self._generation += 1
        endpoint = self._transport.settings.endpoint
        _log.debug("Logged in to ZStack at %s as account %r", endpoint, self._account)

    def close(self) -> None:
        with self._lock:
            session, self._session = self._session, None
        if session is None:
            return
        request = self._transport.build("DELETE", f"/v1/accounts/sessions/{session}")
        try:
            response = self._transport.send(request)
            if response.status_code != 200:
                raise self._transport.api_error(response, operation="logout")
        except ZStackError as exc:
            # The session expires on its own after its idle timeout; a failed logout is not fatal.
            _log.warning("Could not log out of ZStack: %s", exc)
            return
        _log.debug("Logged out of ZStack at %s", self._transport.settings.endpoint)
