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
from ._provider import ProviderError, SchemaProvider
from ._schema import Input, Output, PropertySpec, ResourceModel, Role, Setting
from ._vm_backup import VmBackupProperties
from .providers import VmBackupProvider

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
    "ZStackClient",
    "ZStackError",
]
