"""HTTP client for the ZStack Cloud REST API, as used by the pulumi-zstack dynamic provider.

    settings = ConnectionSettings.resolve(stack_config, os.environ)
    with ZStackClient(settings) as client:
        client.query("volume-backups", f"groupUuid={group}")
        client.run_job("POST", f"/volumes/{root}/vm-backups", body={"params": {...}},
                       deadline=time.monotonic() + 3600, operation="create of VM backup")

Errors derive from `ZStackError`; none of them, and no log record of the ``pulumi_zstack`` logger, contains
a password, access-key secret or session id.
"""

from ._auth import access_key_signature, http_date, password_hash
from ._client import ZStackClient
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
from ._jobs import JobProgress
from ._polling import PollSchedule
from ._retry import RetryPolicy
from ._settings import AuthMethod, ConnectionSettings

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
