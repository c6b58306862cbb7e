"""One pooled HTTP connection to the management node, and the reading of its answers.

Everything that turns an httpx exception or a ZStack error body into a `ZStackError` lives here, so that
secrets are masked in one place.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ._errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    TransportError,
    format_duration,
    truncate,
)
from ._redact import Redactor, install_httpx_log_filter
from ._settings import CA_CERT_FILE, ConnectionSettings

_log = logging.getLogger("pulumi_zstack")

# Raised before any byte of the request left this machine, so ZStack cannot have acted on it.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Network trouble after which trying again can help (a subset of these may follow a sent request).
_TRANSIENT = (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ProxyError)

_SPARE_CONNECTIONS = 4

SESSION_INVALID_CODES = frozenset({"ID.1001", "ORG_ZSTACK_IDENTITY_10020"})

QueryParams = Mapping[str, Any]


def _verify(settings: ConnectionSettings) -> ssl.SSLContext | bool:
    if settings.insecure:
        return False
    if settings.scheme != "https":
        return True
    try:
        # The system trust store, where private CAs of on-premises clouds are usually installed.
        return ssl.create_default_context(cafile=settings.ca_cert_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"The CA certificate file {settings.ca_cert_file!r} cannot be loaded ({exc.__class__.__name__}): "
            f"fix `{CA_CERT_FILE.key}` or the environment variable {CA_CERT_FILE.env_var}",
            setting=CA_CERT_FILE.key,
            env_var=CA_CERT_FILE.env_var,
        ) from None


def _is_certificate_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def parse_json(response: httpx.Response) -> Any:
    """The body as JSON whatever the Content-Type says; None when it is empty or not JSON."""
    if not response.content.strip():
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def error_object(body: Any) -> dict[str, Any] | None:
    """The ZStack ErrorCode in a ``{"error": {...}}`` body, if that is what `body` is."""
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def is_session_invalid(error: APIError) -> bool:
    """ID.1001, its newer global code, or a codeless or identity 503 whose text says the session is bad."""
    if error.status != 503:
        return False
    if error.code in SESSION_INVALID_CODES or error.global_error_code in SESSION_INVALID_CODES:
        return True
    if error.code is not None and not error.code.startswith("ID."):
        return False
    text = f"{error.description or ''} {error.details or ''}".lower()
    return "session" in text and ("expired" in text or "invalid" in text)


class Transport:
    """A pooled `httpx.Client` bound to the configured endpoint, with secret-safe error reporting."""

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        redactor: Redactor,
        clock: Callable[[], float],
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.redact = redactor
        self._clock = clock
        install_httpx_log_filter()
        self._http = httpx.Client(
            transport=transport,
            verify=_verify(settings),
            timeout=settings.request_timeout,
            follow_redirects=False,
            headers={"Accept": "application/json"},
            # One connection per concurrent operation, kept open between its polls (httpx keeps 20 by
            # default and would reconnect for every poll of a large fleet), plus a few for logins and reads.
            limits=httpx.Limits(
                max_connections=settings.max_concurrent_operations + _SPARE_CONNECTIONS,
                max_keepalive_connections=settings.max_concurrent_operations + _SPARE_CONNECTIONS,
            ),
        )

    def url(self, api_path: str) -> str:
        """The absolute URL of an API path relative to the webapp, e.g. ``/v1/volume-backups``."""
        return self.settings.base_url + "/" + api_path.lstrip("/")

    def build(
        self,
        method: str,
        api_path: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        deadline: float | None = None,
    ) -> httpx.Request:
        timeout = self.settings.request_timeout
        if deadline is not None:
            # A request never outlives its operation by more than the time it was already given.
            timeout = max(min(timeout, deadline - self._clock()), 0.001)
        return self._http.build_request(
            method,
            self.url(api_path),
            json=json_body,
            params=params,
            headers=headers,
            timeout=timeout,
        )

    def send(self, request: httpx.Request) -> httpx.Response:
        """Send `request`, turning any httpx failure into a `TransportError`."""
        path = self.redact(request.url.path)
        try:
            response = self._http.send(request)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, request.method, path, request) from exc
        _log.debug("ZStack %s %s -> HTTP %d", request.method, path, response.status_code)
        return response

    def _transport_error(
        self, exc: httpx.HTTPError, method: str, path: str, request: httpx.Request
    ) -> TransportError:
        endpoint = self.settings.endpoint
        reason = self.redact(str(exc)) or exc.__class__.__name__
        sent = not isinstance(exc, _UNSENT)
        transient = isinstance(exc, _TRANSIENT)
        if _is_certificate_error(exc):
            message = (
                f"The TLS certificate of ZStack at {endpoint} could not be verified ({reason}) during "
                f"{method} {path}: if the certificate names another host, set `zstack:host` (ZSTACK_HOST) "
                "to a name it covers; if another CA signed it, set `zstack:caCertFile` (ZSTACK_CA_CERT_FILE) "
                "to that CA bundle; `zstack:insecure` (ZSTACK_INSECURE) true skips verification "
                "(not recommended)"
            )
            return TransportError(message, method=method, path=path, request_sent=False, transient=False)
        if isinstance(exc, httpx.TimeoutException) and sent:
            timeout = request.extensions.get("timeout", {}).get("read") or self.settings.request_timeout
            message = (
                f"ZStack at {endpoint} did not answer {method} {path} within {format_duration(timeout)}; "
                "the request may have been processed. If the management node is just slow, raise "
                "`zstack:requestTimeout` (ZSTACK_REQUEST_TIMEOUT)"
            )
        elif sent:
            message = (
                f"The connection to ZStack at {endpoint} failed during {method} {path} ({reason}); "
                "the request may have been processed"
            )
        else:
            message = (
                f"Cannot connect to ZStack at {endpoint} ({reason}) for {method} {path}: check "
                "`zstack:host`, `zstack:port` and `zstack:scheme` (ZSTACK_HOST, ZSTACK_PORT, ZSTACK_SCHEME) "
                "and that the management node is running and reachable from this machine"
            )
        return TransportError(message, method=method, path=path, request_sent=sent, transient=transient)

    def api_error(self, response: httpx.Response, *, operation: str | None = None) -> APIError:
        """The error a non-success answer stands for: a ZStack ErrorCode on 503, plain text otherwise."""
        request = response.request
        fields: dict[str, Any] = {
            "status": response.status_code,
            "method": request.method,
            "path": self.redact(request.url.path),
            "operation": operation,
        }
        error = error_object(parse_json(response))
        if error is not None:
            for field, key in (
                ("code", "code"),
                ("description", "description"),
                ("details", "details"),
                ("global_error_code", "globalErrorCode"),
            ):
                value = error.get(key)
                if value is not None:
                    fields[field] = truncate(self.redact(str(value)))
            if "details" not in fields and error.get("message") is not None:
                fields["details"] = truncate(self.redact(str(error["message"])))
        elif response.content.strip():
            fields["details"] = truncate(self.redact(response.text))
        code = fields.get("code")
        if (
            response.status_code == 403
            or code == "ID.1000"
            or (isinstance(code, str) and code.startswith("LOGIN_CONTROL."))
        ):
            return AuthenticationError(**fields)
        return APIError(**fields)

    def close(self) -> None:
        self._http.close()
