"""The VmBackupSeries resource as Pulumi programs declare it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi_zstack_provider import VmBackupSeriesProperties
from pulumi_zstack_provider.providers import VmBackupSeriesProvider

from ._identity import every_property, inputs_of, owner_inputs


@dataclasses.dataclass
class VmBackupSeriesArgs:
    """The inputs of a :class:`VmBackupSeries`."""

    root_volume_uuid: pulumi.Input[str]
    """UUID of the VM's root volume; every non-shareable root and data volume of the VM is backed up."""
    backup_storage_uuid: pulumi.Input[str]
    """An Enabled ImageStoreBackupStorage."""
    name: pulumi.Input[str]
    """1 to 255 characters; ZStack appends a timestamp to each backup's name."""
    keep: pulumi.Input[int]
    """How many backups to keep, newest first. Lowering it prunes at the next update."""
    triggers: pulumi.Input[list[Any]] | None = None
    """Any JSON values. A change takes a new backup (an update of the series), then deletes the oldest
    ones beyond ``keep``."""
    description: pulumi.Input[str] | None = None
    """At most 2048 characters."""
    mode: pulumi.Input[str] | None = None
    """``"full"`` forces full backups; ``"auto"`` (default) allows incremental ones."""
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
    series_uuid: pulumi.Input[str] | None = None
    """The series' UUID (the resource id; not a ZStack object). Derived from the resource's URN and inputs
    when omitted, so an interrupted first create resumes its backup."""
    create_timeout: pulumi.Input[str] | None = None
    """How long taking one backup may take, e.g. ``"90m"`` (default 60m)."""
    delete_timeout: pulumi.Input[str] | None = None
    """How long deleting one backup may take (default 20m)."""
    max_poll_interval: pulumi.Input[str] | None = None
    """Longest wait between two polls of a ZStack job (default 10s)."""


RESOURCE_TYPE = "pulumi-python:dynamic/zstack:VmBackupSeries"


class VmBackupSeries(pulumi.dynamic.Resource, module="zstack", name="VmBackupSeries"):
    """A rotating series of backups of one VM: "a backup before every release, keep the last N".

    Create takes the first backup. A change of ``triggers`` takes a new one and then deletes the oldest
    beyond ``keep``; that is an update of the series, not a replacement. Changing a ZStack-side input
    (the VM, the backup storage, the name...) replaces the whole series, the new one made first.

    Example::

        series = zstack.VmBackupSeries("pre-release", root_volume_uuid=vm_root,
                                       backup_storage_uuid=image_store, name="pre-release",
                                       keep=3, triggers=[app_version])
        pulumi.export("latest_backup", series.latest_group_uuid)
    """

    series_uuid: pulumi.Output[str]
    """The series' UUID; also the resource id."""
    root_volume_uuid: pulumi.Output[str]
    backup_storage_uuid: pulumi.Output[str]
    name: pulumi.Output[str]
    keep: pulumi.Output[int]
    triggers: pulumi.Output[list[Any] | None]
    description: pulumi.Output[str | None]
    mode: pulumi.Output[str | None]
    volume_read_bandwidth: pulumi.Output[int | None]
    volume_write_bandwidth: pulumi.Output[int | None]
    network_read_bandwidth: pulumi.Output[int | None]
    network_write_bandwidth: pulumi.Output[int | None]
    system_tags: pulumi.Output[list[str] | None]
    user_tags: pulumi.Output[list[str] | None]
    copy_to_backup_storage_uuids: pulumi.Output[list[str] | None]
    create_timeout: pulumi.Output[str | None]
    delete_timeout: pulumi.Output[str | None]
    max_poll_interval: pulumi.Output[str | None]
    group_uuids: pulumi.Output[list[str]]
    """The kept backup groups, newest first; at most ``keep``."""
    latest_group_uuid: pulumi.Output[str]
    """The newest backup group."""
    backups: pulumi.Output[list[dict[str, Any]]]
    """One entry per kept backup, newest first: ``group_uuid``, ``take``, ``create_date``, ``triggers``
    (the values it was taken for), ``total_size`` (bytes), ``status``, ``volume_uuids``,
    ``backup_storage_uuids`` (every store that holds the whole backup)."""
    vm_instance_uuid: pulumi.Output[str]
    """The backed-up VM."""
    takes: pulumi.Output[int]
    """How many backups the series has taken in all, pruned ones included."""
    missing_group_uuids: pulumi.Output[list[str] | None]
    """Backups found deleted or broken outside Pulumi by refresh, and dropped from the series."""
    prune_pending: pulumi.Output[list[str] | None]
    """Backup groups no longer kept that a prune could not delete yet; the next update deletes them."""
    copy_pending: pulumi.Output[list[dict[str, Any]] | None]
    """Copies asked for that ZStack does not hold complete yet, as ``group_uuid``, ``backup_storage_uuid``;
    the next update makes them."""
    owner_claim: pulumi.Output[str | None]
    """The token in the owner tag of every backup group the series holds."""

    def __init__(
        self,
        resource_name: str,
        args: VmBackupSeriesArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        inputs = inputs_of("VmBackupSeries", VmBackupSeriesArgs, resource_name, args, kwargs)
        inputs.update(owner_inputs(RESOURCE_TYPE, resource_name, opts))
        props = every_property(VmBackupSeriesProperties, inputs)
        super().__init__(VmBackupSeriesProvider(), resource_name, props, opts)
