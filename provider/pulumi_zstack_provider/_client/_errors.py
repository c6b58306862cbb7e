"""The errors the ZStack client raises.

Every exception derives from `ZStackError`. `str(error)` is a sentence for the person running Pulumi: it
names what failed, the ZStack error code when there is one, and what to do next. Messages are built only
from redacted text, so they never contain a password, an access-key secret, a session id or an
Authorization header.

    ZStackError
    ├── ConfigurationError        a setting is missing or invalid
    ├── TransportError            no HTTP answer: unreachable host, TLS failure, dropped connection
    ├── APIError                  ZStack answered with an error
    │   ├── AuthenticationError   credentials refused (ID.1000, LOGIN_CONTROL.*, HTTP 403)
    │   ├── SessionExpiredError   session invalid (ID.1001) even after logging in again
    │   └── JobFailedError        an async job finished with an error
    ├── JobNotFoundError          ZStack has no record of a job (unknown, or expired after 3 h)
    └── OperationTimeoutError     an operation's deadline passed
"""

from __future__ import annotations

from typing import Any

_DETAILS_LIMIT = 500

_ADVICE_BY_CODE = {
    "ID.1000": (
        "Check the account name and password: stack config `zstack:accountName` / `zstack:accountPassword` "
        "or the environment variables ZSTACK_ACCOUNT_NAME / ZSTACK_ACCOUNT_PASSWORD."
    ),
    "ID.1001": "The ZStack session is invalid or has expired.",
    "ID.1002": "The account is not allowed to do this; use an account or access key that has the permission.",
    "ID.1003": "A ZStack quota is exhausted; delete unused resources or ask an administrator to raise it.",
    "ID.1006": (
        "The account has too many active sessions; log out unused sessions or wait for them to expire, "
        "or use an access key (`zstack:accessKeyId` / `zstack:accessKeySecret`)."
    ),
    "SYS.1000": "ZStack reported an internal error; retry later and check the management node logs.",
    "SYS.1001": "The operation timed out on the management node; check its load and retry.",
    "SYS.1003": "A referenced resource does not exist; check the UUIDs in your program.",
    "SYS.1006": "Fix the condition described above and run the update again.",
    "SYS.1007": "An argument is invalid; fix the value described above.",
}

_ADVICE_BY_STATUS = {
    400: "ZStack rejected the request as malformed; this is likely a pulumi-zstack bug or an unsupported "
    "ZStack version.",
    403: (
        "Check `zstack:accessKeyId` / `zstack:accessKeySecret` (ZSTACK_ACCESS_KEY_ID / "
        "ZSTACK_ACCESS_KEY_SECRET), that the key is enabled, and that this machine's clock is within "
        "15 minutes of the management node's local time."
    ),
    404: "This ZStack API does not exist on the management node; check the ZStack version and license.",
    405: "This ZStack API does not accept this HTTP method; this is likely a pulumi-zstack bug.",
}

_SERVER_TROUBLE = "The management node had a server-side problem; retry later and check its logs."


def truncate(text: str, limit: int = _DETAILS_LIMIT) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


class ZStackError(Exception):
    """Base class of every error raised by the ZStack client."""


class ConfigurationError(ZStackError):
    """A connection setting is missing or invalid.

    `setting` is the stack config key (e.g. ``zstack:host``) and `env_var` the environment variable that can
    provide it instead (e.g. ``ZSTACK_HOST``); the message names both.
    """

    def __init__(self, message: str, *, setting: str, env_var: str | None) -> None:
        super().__init__(message)
        self.setting = setting
        self.env_var = env_var


class TransportError(ZStackError):
    """No usable HTTP answer: unreachable host, TLS failure, timeout or dropped connection.

    `request_sent` is False only when the request certainly never reached the server (connection refused,
    connect timeout, no free pooled connection); otherwise ZStack may have received and acted on it.
    """

    def __init__(
        self, message: str, *, method: str, path: str, request_sent: bool, transient: bool = True
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.request_sent = request_sent
        # Whether trying again can help (a network hiccup) rather than repeat a local mistake.
        self.transient = transient


class APIError(ZStackError):
    """ZStack answered with an error.

    For a 503 ``{"error": {...}}`` body, `code`, `description`, `details` and `global_error_code` come from
    the ZStack ErrorCode; for the plain-text bodies of 400/403/404/405/500 the text is in `details`
    (truncated to about 500 characters). `path` is the request path with secrets masked.
    """

    def __init__(
        self,
        *,
        status: int,
        method: str,
        path: str,
        code: str | None = None,
        description: str | None = None,
        details: str | None = None,
        global_error_code: str | None = None,
        operation: str | None = None,
        advice: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.description = description
        self.details = details
        self.global_error_code = global_error_code
        self.method = method
        self.path = path
        self.operation = operation
        super().__init__(self._compose(advice))

    def _headline(self) -> str:
        what = (
            f"{self.operation} ({self.method} {self.path})"
            if self.operation
            else f"{self.method} {self.path}"
        )
        return f"ZStack refused {what} with HTTP {self.status}"

    def _compose(self, advice: str | None) -> str:
        parts = [self._headline()]
        if self.code or self.global_error_code:
            label = " / ".join(c for c in (self.code, self.global_error_code) if c)
            parts.append(f", error {label}" + (f" ({self.description.strip()})" if self.description else ""))
        elif self.description:
            parts.append(f" ({self.description.strip()})")
        text = "".join(parts)
        if self.details:
            text += f": {self.details}"
        return f"{_sentence(text)} {advice or self.default_advice()}"

    def default_advice(self) -> str:
        if self.code in _ADVICE_BY_CODE:
            return _ADVICE_BY_CODE[self.code]
        if self.status in _ADVICE_BY_STATUS:
            return _ADVICE_BY_STATUS[self.status]
        if self.status >= 500:
            return _SERVER_TROUBLE
        return "See the ZStack error details above."


class AuthenticationError(APIError):
    """ZStack refused the credentials: wrong password (ID.1000), locked account, refused access key (403)."""


class SessionExpiredError(APIError):
    """The session stayed invalid (ID.1001 / ORG_ZSTACK_IDENTITY_10020) after one attempt to log in again,
    or it came from `zstack:sessionId`, which the client cannot renew."""


class JobFailedError(APIError):
    """An async ZStack job finished with an error (its poll answered 503 ``{"error": ...}``)."""

    def __init__(
        self,
        *,
        job_uuid: str,
        status: int,
        method: str,
        path: str,
        code: str | None = None,
        description: str | None = None,
        details: str | None = None,
        global_error_code: str | None = None,
        operation: str | None = None,
        advice: str | None = None,
    ) -> None:
        self.job_uuid = job_uuid
        super().__init__(
            status=status,
            method=method,
            path=path,
            code=code,
            description=description,
            details=details,
            global_error_code=global_error_code,
            operation=operation,
            advice=advice,
        )

    def _headline(self) -> str:
        what = self.operation or f"{self.method} {self.path}"
        return f"{what} failed in ZStack job {self.job_uuid}"


class JobNotFoundError(ZStackError):
    """Polling a job answered 404: ZStack does not know the job, or its record expired (kept 3 hours)."""

    def __init__(self, *, job_uuid: str, operation: str, details: str | None = None) -> None:
        self.job_uuid = job_uuid
        self.operation = operation
        self.details = details
        reason = f" ({details})" if details else ""
        super().__init__(
            f"ZStack has no record of job {job_uuid} for {operation}{reason}: it is unknown or its result "
            "expired (ZStack keeps job results for 3 hours). The operation may or may not have completed; "
            "run `pulumi refresh` to see the actual state, then run the update again."
        )


class OperationTimeoutError(ZStackError):
    """The operation's deadline passed before ZStack finished it.

    `timeout` is the time the operation was allowed, in seconds. The message includes the caller's hint on
    how to allow more time.
    """

    def __init__(
        self,
        *,
        operation: str,
        timeout: float,
        hint: str = "",
        job_uuid: str | None = None,
        last_error: str | None = None,
    ) -> None:
        self.operation = operation
        self.timeout = timeout
        self.job_uuid = job_uuid
        text = f"{operation} did not finish within {format_duration(timeout)}"
        if job_uuid:
            text += f"; ZStack job {job_uuid} may still be running on the management node"
        if last_error:
            text += f" (last error: {last_error.rstrip('.')})"
        super().__init__(f"{text}. {hint.strip() or 'Allow more time for this operation and try again.'}")


def error_fields(error: APIError) -> dict[str, Any]:
    """The constructor arguments that rebuild `error` as another `APIError` kind (e.g. with new advice)."""
    return {
        "status": error.status,
        "method": error.method,
        "path": error.path,
        "code": error.code,
        "description": error.description,
        "details": error.details,
        "global_error_code": error.global_error_code,
        "operation": error.operation,
    }


def format_duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
