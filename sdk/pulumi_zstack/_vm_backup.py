"""The VmBackup resource as Pulumi programs declare it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi_zstack_provider import VmBackupProperties
from pulumi_zstack_provider.providers import VmBackupProvider

from ._identity import every_property, inputs_of, owner_inputs


@dataclasses.dataclass
class VmBackupArgs:
    """The inputs of a :class:`VmBackup`. Every ZStack-side input forces a new backup when it changes."""

    root_volume_uuid: pulumi.Input[str]
    """UUID of the VM's root volume; every non-shareable root and data volume of the VM is backed up."""
    backup_storage_uuid: pulumi.Input[str]
    """An Enabled ImageStoreBackupStorage."""
    name: pulumi.Input[str]
    """1 to 255 characters; ZStack appends a timestamp (see ``backup_name``)."""
    description: pulumi.Input[str] | None = None
    """At most 2048 characters."""
    mode: pulumi.Input[str] | None = None
    """``"full"`` forces a full backup; ``"auto"`` (default) allows incremental ones."""
    volume_read_bandwidth: pulumi.Input[int] | None = None
    """Bytes per second, at least 1024."""
    volume_write_bandwidth: pulumi.Input[int] | None = None
    """Bytes per second, at least 1024."""
    network_read_bandwidth: pulumi.Input[int] | None = None
    """Bytes per second, at least 1024."""
    network_write_bandwidth: pulumi.Input[int] | None = None
    """Bytes per second, at least 1024."""
    system_tags: pulumi.Input[list[pulumi.Input[str]]] | None = None
    """ZStack system tags for each volume backup."""
    user_tags: pulumi.Input[list[pulumi.Input[str]]] | None = None
    """ZStack user tags."""
    copy_to_backup_storage_uuids: pulumi.Input[list[pulumi.Input[str]]] | None = None
    """Offsite copies: after each backup is taken it is copied to each of these ImageStore backup storages
    (not ``backup_storage_uuid``). Changing the list is an update: a store added gets a copy of what exists,
    a store removed loses its copy. A failed copy fails the operation but keeps the backup; the next
    ``pulumi up`` makes the copy."""
    triggers: pulumi.Input[list[Any]] | None = None
    """Any JSON values. A change takes a new backup; the old one is deleted once the new one is Ready.
    ``triggers=[app_version]`` takes a backup before each release."""
    group_uuid: pulumi.Input[str] | None = None
    """Adopt this existing backup group: the resource takes it whatever its tags and becomes its owner, and
    a ``--replace`` keeps it. Omitted, each create makes a group under an id derived from the resource's URN
    and inputs, so an interrupted create resumes instead of making a second backup."""
    create_timeout: pulumi.Input[str] | None = None
    """How long a create may take, e.g. ``"90m"`` (default 60m). Changing it never replaces the backup."""
    delete_timeout: pulumi.Input[str] | None = None
    """How long a delete may take (default 20m)."""
    max_poll_interval: pulumi.Input[str] | None = None
    """Longest wait between two polls of a ZStack job (default 10s)."""


RESOURCE_TYPE = "pulumi-python:dynamic/zstack:VmBackup"


class VmBackup(pulumi.dynamic.Resource, module="zstack", name="VmBackup"):
    """A ZStack Cloud VM backup: one volume backup per root and data volume, sharing a group UUID.

    ZStack has no update API for backups, so changing any ZStack-side input or ``triggers`` replaces the
    backup: a new one is made before the old one is deleted, as with ``pulumi up --replace``. Changing a
    timeout only updates the stack.

    Example::

        backup = zstack.VmBackup("nightly", root_volume_uuid=vm_root, backup_storage_uuid=image_store,
                                 name="nightly")
        pulumi.export("backup_group", backup.group_uuid)
    """

    group_uuid: pulumi.Output[str]
    """The backup group's UUID; also the resource id."""
    root_volume_uuid: pulumi.Output[str]
    backup_storage_uuid: pulumi.Output[str]
    name: pulumi.Output[str]
    description: pulumi.Output[str | None]
    mode: pulumi.Output[str | None]
    volume_read_bandwidth: pulumi.Output[int | None]
    volume_write_bandwidth: pulumi.Output[int | None]
    network_read_bandwidth: pulumi.Output[int | None]
    network_write_bandwidth: pulumi.Output[int | None]
    system_tags: pulumi.Output[list[str] | None]
    user_tags: pulumi.Output[list[str] | None]
    copy_to_backup_storage_uuids: pulumi.Output[list[str] | None]
    triggers: pulumi.Output[list[Any] | None]
    create_timeout: pulumi.Output[str | None]
    delete_timeout: pulumi.Output[str | None]
    max_poll_interval: pulumi.Output[str | None]
    vm_instance_uuid: pulumi.Output[str]
    """The backed-up VM."""
    uuid: pulumi.Output[str]
    """UUID of the root volume backup."""
    volume_uuid: pulumi.Output[str]
    """The root volume the root backup was taken from."""
    backup_name: pulumi.Output[str]
    """The root backup's name as ZStack stored it, with a timestamp appended."""
    type: pulumi.Output[str]
    """``Root``."""
    state: pulumi.Output[str]
    """``Enabled`` or ``Disabled``."""
    status: pulumi.Output[str]
    """``Ready`` once the backup is usable."""
    size: pulumi.Output[int]
    """Size of the root backup in bytes."""
    metadata: pulumi.Output[str | None]
    """ZStack's metadata of the root backup (a JSON string)."""
    create_date: pulumi.Output[str]
    """ISO 8601 in the management node's local time (ZStack sends no time zone)."""
    last_op_date: pulumi.Output[str]
    """ISO 8601 in the management node's local time."""
    backup_storage_refs: pulumi.Output[list[dict[str, Any]]]
    """Where the root backup is stored: ``backup_storage_uuid``, ``install_path``, ``status``."""
    members: pulumi.Output[list[dict[str, Any]]]
    """Every volume backup of the group, root first: ``uuid``, ``volume_uuid``, ``name``, ``type``,
    ``state``, ``status``, ``size``, ``mode``, ``create_date``, ``last_op_date``, ``backup_storage_refs``."""
    total_size: pulumi.Output[int]
    """Sum of the members' sizes in bytes."""
    backup_storage_uuids: pulumi.Output[list[str]]
    """Every backup storage that holds the whole group: the one it was taken to and its offsite copies."""
    copies: pulumi.Output[list[dict[str, Any]] | None]
    """One entry per store of ``copy_to_backup_storage_uuids``: ``backup_storage_uuid``, ``complete``."""
    copy_pending: pulumi.Output[list[str] | None]
    """Copy stores that do not hold a complete copy yet (a failed copy, or one deleted outside Pulumi);
    the next update makes them."""
    owner_claim: pulumi.Output[str | None]
    """The token in the group's owner tag; only the resource that keeps it deletes the group."""
    missing_members: pulumi.Output[list[str] | None]
    """Volumes whose backup was deleted outside Pulumi (found by refresh); the next update makes the
    backup again."""

    def __init__(
        self,
        resource_name: str,
        args: VmBackupArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        inputs = inputs_of("VmBackup", VmBackupArgs, resource_name, args, kwargs)
        inputs.update(owner_inputs(RESOURCE_TYPE, resource_name, opts))
        self._register(resource_name, inputs, opts)

    def _register(
        self, resource_name: str, inputs: dict[str, Any], opts: pulumi.ResourceOptions | None
    ) -> None:
        super().__init__(VmBackupProvider(), resource_name, every_property(VmBackupProperties, inputs), opts)

    @staticmethod
    def get(
        resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None
    ) -> VmBackup:
        """Adopt an existing VM backup group by its group UUID and read its current state.

        Inputs are read back from ZStack: the root volume, the backup storage, the description and the
        name as it was given (ZStack's timestamp suffix removed).
        """
        backup = VmBackup.__new__(VmBackup)
        backup._register(resource_name, {}, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id)))
        return backup
