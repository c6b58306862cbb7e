"""Engine side of pulumi-zstack: the ZStack API client, the resource schemas and the dynamic providers.

Programs do not import this package; they use :mod:`pulumi_zstack`. The provider process (``python -m
pulumi.dynamic``, started by the Pulumi engine) imports it to run creates, reads and deletes.
"""

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
    ZStackClient,
    ZStackError,
)
from ._ids import derived_id
from ._provider import ProviderError, SchemaProvider
from ._schema import Input, Output, PropertySpec, ResourceModel, Role, Setting
from ._vm_backup import VmBackupProperties
from ._vm_backup_series import VmBackupSeriesProperties
from .providers import VmBackupProvider, VmBackupSeriesProvider

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
    "VmBackupSeriesProperties",
    "VmBackupSeriesProvider",
    "ZStackClient",
    "ZStackError",
    "derived_id",
]
