"""HTTP client for the ZStack Cloud REST API, as used by the pulumi-zstack dynamic provider.

    settings = ConnectionSettings.resolve(stack_config, os.environ)
    with ZStackClient(settings) as client:
        client.query("volume-backups", f"groupUuid={group}")
        client.run_job("POST", f"/volumes/{root}/vm-backups", body={"params": {...}},
                       deadline=time.monotonic() + 3600, operation="create of VM backup")

Errors derive from `ZStackError`; none of them, and no log record of the ``pulumi_zstack`` logger, contains
a password, access-key secret or session id.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    JobFailedError,
    JobNotFoundError,
    OperationTimeoutError,
    SessionExpiredError,
    TransportError,
    ZStackError,
)
from ._polling import PollSchedule
from ._settings import AuthMethod, ConnectionSettings

if TYPE_CHECKING:
    from ._auth import access_key_signature, http_date, password_hash
    from ._client import ZStackClient
    from ._jobs import JobProgress
    from ._retry import RetryPolicy

# What needs httpx and tenacity is imported on first use: previews and checks never load it.
_LAZY = {
    "ZStackClient": "._client",
    "JobProgress": "._jobs",
    "RetryPolicy": "._retry",
    "access_key_signature": "._auth",
    "http_date": "._auth",
    "password_hash": "._auth",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "APIError",
    "AuthMethod",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionSettings",
    "JobFailedError",
    "JobNotFoundError",
    "JobProgress",
    "OperationTimeoutError",
    "PollSchedule",
    "RetryPolicy",
    "SessionExpiredError",
    "TransportError",
    "ZStackClient",
    "ZStackError",
    "access_key_signature",
    "http_date",
    "password_hash",
]
