"""The VmBackupSchedule resource as Pulumi programs declare it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi_zstack_provider import VmBackupScheduleProperties
from pulumi_zstack_provider.providers import VmBackupScheduleProvider

from ._identity import every_property, inputs_of, owner_inputs


@dataclasses.dataclass
class VmBackupScheduleArgs:
    """The inputs of a :class:`VmBackupSchedule`. Only ``root_volume_uuid`` replaces the schedule."""

    root_volume_uuid: pulumi.Input[str]
    """UUID of the VM's root volume: the job's target; each run backs up the VM's volumes."""
    backup_storage_uuids: pulumi.Input[list[pulumi.Input[str]]]
    """At least one backup storage; ZStack writes to the first Enabled ImageStore of the list."""
    name: pulumi.Input[str]
    """The scheduler job's name, 1 to 255 characters."""
    cron: pulumi.Input[str] | None = None
    """A Quartz expression of six fields, e.g. ``"0 0 2 * * ?"`` (02:00 every night, the management node's
    local time). Exactly one of ``cron`` and ``interval_seconds``."""
    interval_seconds: pulumi.Input[int] | None = None
    """Run every this many seconds instead of on a cron."""
    start_time: pulumi.Input[int] | None = None
    """With ``interval_seconds``: the first run in Unix seconds (default: one interval from now)."""
    retention_count: pulumi.Input[int] | None = None
    """Keep the newest N scheduled backups of the VM. Exactly one of ``retention_count`` and
    ``retention_days``."""
    retention_days: pulumi.Input[int] | None = None
    """Keep the scheduled backups of the last N days."""
    remote_backup_storage_uuid: pulumi.Input[str] | None = None
    """Copy each new backup to this ImageStore backup storage (offsite copy)."""
    remote_retention_count: pulumi.Input[int] | None = None
    """With ``remote_backup_storage_uuid``: keep the newest N copies there."""
    remote_retention_days: pulumi.Input[int] | None = None
    """With ``remote_backup_storage_uuid``: keep the copies of the last N days there."""
    full_backup_cron: pulumi.Input[str] | None = None
    """A second Quartz cron whose runs are full backups."""
    volume_read_bandwidth: pulumi.Input[int] | None = None
    """Bytes per second, at least 1024."""
    volume_write_bandwidth: pulumi.Input[int] | None = None
    """Bytes per second, at least 1024."""
    network_read_bandwidth: pulumi.Input[int] | None = None
    """Bytes per second, at least 1024."""
    network_write_bandwidth: pulumi.Input[int] | None = None
    """Bytes per second, at least 1024."""
    description: pulumi.Input[str] | None = None
    """The job's description, at most 2048 characters."""
    enabled: pulumi.Input[bool] | None = None
    """``False`` pauses the schedule in place; ``True`` (the default) resumes it."""
    delete_backups_on_destroy: pulumi.Input[bool] | None = None
    """Destroy keeps the backups the schedule made unless this is ``True``."""
    create_timeout: pulumi.Input[str] | None = None
    """How long making or updating the schedule may take (default 60m)."""
    delete_timeout: pulumi.Input[str] | None = None
    """How long a delete may take (default 20m)."""
    max_poll_interval: pulumi.Input[str] | None = None
    """Longest wait between two polls of a ZStack job (default 10s)."""


RESOURCE_TYPE = "pulumi-python:dynamic/zstack:VmBackupSchedule"


class VmBackupSchedule(pulumi.dynamic.Resource, module="zstack", name="VmBackupSchedule"):
    """ZStack's own backup schedule for one VM: a ``vmBackup`` scheduler job, its trigger(s), retention and
    offsite copy, run by ZStack itself.

    Every input but ``root_volume_uuid`` changes in place. Destroy keeps the backups the schedule made
    unless ``delete_backups_on_destroy=True``.

    Example::

        nightly = zstack.VmBackupSchedule("web-01", root_volume_uuid=vm_root,
                                          backup_storage_uuids=[image_store], name="web-01 nightly",
                                          cron="0 0 2 * * ?", retention_count=7,
                                          remote_backup_storage_uuid=offsite, remote_retention_days=30)
    """

    job_uuid: pulumi.Output[str]
    """The scheduler job's UUID; also the resource id."""
    trigger_uuid: pulumi.Output[str]
    """The trigger that fires the job."""
    full_backup_trigger_uuid: pulumi.Output[str | None]
    """The trigger of ``full_backup_cron``, if set."""
    state: pulumi.Output[str]
    """``Enabled`` or ``Disabled``."""
    backup_group_uuids: pulumi.Output[list[str]]
    """Backup groups the job made that ZStack still keeps, newest first (as of the last up or refresh)."""
    vm_instance_uuid: pulumi.Output[str | None]
    """The VM of the newest kept backup."""
    owner_claim: pulumi.Output[str]
    """The token in the job's owner tag; only the resource that keeps it deletes the job."""
    root_volume_uuid: pulumi.Output[str]
    backup_storage_uuids: pulumi.Output[list[str]]
    name: pulumi.Output[str]
    description: pulumi.Output[str | None]
    cron: pulumi.Output[str | None]
    interval_seconds: pulumi.Output[int | None]
    start_time: pulumi.Output[int | None]
    retention_count: pulumi.Output[int | None]
    retention_days: pulumi.Output[int | None]
    remote_backup_storage_uuid: pulumi.Output[str | None]
    remote_retention_count: pulumi.Output[int | None]
    remote_retention_days: pulumi.Output[int | None]
    full_backup_cron: pulumi.Output[str | None]
    volume_read_bandwidth: pulumi.Output[int | None]
    volume_write_bandwidth: pulumi.Output[int | None]
    network_read_bandwidth: pulumi.Output[int | None]
    network_write_bandwidth: pulumi.Output[int | None]
    enabled: pulumi.Output[bool | None]
    delete_backups_on_destroy: pulumi.Output[bool | None]
    create_timeout: pulumi.Output[str | None]
    delete_timeout: pulumi.Output[str | None]
    max_poll_interval: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        args: VmBackupScheduleArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        inputs = inputs_of("VmBackupSchedule", VmBackupScheduleArgs, resource_name, args, kwargs)
        inputs.update(owner_inputs(RESOURCE_TYPE, resource_name, opts))
        super().__init__(
            VmBackupScheduleProvider(),
            resource_name,
            every_property(VmBackupScheduleProperties, inputs),
            opts,
        )
