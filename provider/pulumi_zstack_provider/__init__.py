"""Engine side of pulumi-zstack: the ZStack API client, the resource schemas and the dynamic providers.

Programs do not import this package; they use :mod:`pulumi_zstack`. The provider process (``python -m
pulumi.dynamic``, started by the Pulumi engine) imports it to run creates, reads and deletes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._client import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    ConnectionSettings,
    JobFailedError,
    JobNotFoundError,
    OperationTimeoutError,
    SessionExpiredError,
    TransportError,
    ZStackError,
)
from ._provider import ProviderError, SchemaProvider
from ._schema import Input, Output, PropertySpec, ResourceModel, Role, Setting
from ._vm_backup import VmBackupProperties
from ._vm_backup_schedule import VmBackupScheduleProperties
from ._vm_backup_series import VmBackupSeriesProperties
from ._vm_from_backup import VmFromBackupProperties
from .providers import (
    VmBackupProvider,
    VmBackupScheduleProvider,
    VmBackupSeriesProvider,
    VmFromBackupProvider,
)

if TYPE_CHECKING:
    from ._client import ZStackClient


def __getattr__(name: str) -> Any:
    # The HTTP client (httpx, tenacity) loads on first use; check and diff never need it.
    if name == "ZStackClient":
        from . import _client

        return _client.ZStackClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "APIError",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionSettings",
    "Input",
    "JobFailedError",
    "JobNotFoundError",
    "OperationTimeoutError",
    "Output",
    "PropertySpec",
    "ProviderError",
    "ResourceModel",
    "Role",
    "SchemaProvider",
    "SessionExpiredError",
    "Setting",
    "TransportError",
    "VmBackupProperties",
    "VmBackupProvider",
    "VmBackupScheduleProperties",
    "VmBackupScheduleProvider",
    "VmBackupSeriesProperties",
    "VmBackupSeriesProvider",
    "VmFromBackupProperties",
    "VmFromBackupProvider",
    "ZStackClient",
    "ZStackError",
]
