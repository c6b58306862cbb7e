"""The VmFromBackup resource as Pulumi programs declare it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi_zstack_provider import VmFromBackupProperties
from pulumi_zstack_provider.providers import VmFromBackupProvider

from ._identity import every_property, inputs_of, owner_inputs


@dataclasses.dataclass
class VmFromBackupArgs:
    """The inputs of a :class:`VmFromBackup`. Every ZStack-side input makes a new VM when it changes."""

    group_uuid: pulumi.Input[str]
    """The VM backup group to restore, e.g. ``series.latest_group_uuid``."""
    name: pulumi.Input[str]
    """Name of the new VM, 1 to 255 characters."""
    description: pulumi.Input[str] | None = None
    """At most 2048 characters."""
    backup_storage_uuid: pulumi.Input[str] | None = None
    """Which copy to restore from: a backup storage holding every member of the group."""
    instance_offering_uuid: pulumi.Input[str] | None = None
    """CPU and memory from this offering; or give ``cpu_num`` and ``memory_size``."""
    cpu_num: pulumi.Input[int] | None = None
    """vCPUs, with ``memory_size``."""
    memory_size: pulumi.Input[int] | None = None
    """Memory in bytes, with ``cpu_num``."""
    l3_network_uuids: pulumi.Input[list[pulumi.Input[str]]] | None = None
    """L3 networks of the VM's NICs, in order. At least one of ``l3_network_uuids``, ``zone_uuid``,
    ``cluster_uuid`` and ``host_uuid`` is required."""
    default_l3_network_uuid: pulumi.Input[str] | None = None
    """One of ``l3_network_uuids`` (default: the first)."""
    zone_uuid: pulumi.Input[str] | None = None
    cluster_uuid: pulumi.Input[str] | None = None
    host_uuid: pulumi.Input[str] | None = None
    primary_storage_uuid_for_root_volume: pulumi.Input[str] | None = None
    primary_storage_uuid_for_data_volume: pulumi.Input[str] | None = None
    strategy: pulumi.Input[str] | None = None
    """``"InstantStart"`` (default; create waits for ``Running``), ``"CreateStopped"`` or ``"JustCreate"``."""
    create_timeout: pulumi.Input[str] | None = None
    """How long the restore may take, e.g. ``"90m"`` (default 60m). Changing it never replaces the VM."""
    delete_timeout: pulumi.Input[str] | None = None
    """How long destroying and expunging the VM may take (default 20m)."""
    max_poll_interval: pulumi.Input[str] | None = None
    """Longest wait between two polls of a ZStack job or of the VM (default 10s)."""


RESOURCE_TYPE = "pulumi-python:dynamic/zstack:VmFromBackup"


class VmFromBackup(pulumi.dynamic.Resource, module="zstack", name="VmFromBackup"):
    """A ZStack VM made from a VM backup group (CreateVmFromVmBackup): a clone, a disaster-recovery copy, a
    restore drill.

    Create waits until the VM is in the state its ``strategy`` promises (``Running`` by default). A change
    of any ZStack-side input, a new ``group_uuid`` included, makes a new VM before the old one is destroyed
    and expunged.

    Example::

        restored = zstack.VmFromBackup("drill", group_uuid=series.latest_group_uuid, name="drill",
                                       instance_offering_uuid=offering, l3_network_uuids=[isolated_l3])
        pulumi.export("restored_ip", restored.nics[0]["ip"])
    """

    uuid: pulumi.Output[str]
    """The VM's UUID; also the resource id."""
    group_uuid: pulumi.Output[str]
    """The backup group the VM was made from."""
    name: pulumi.Output[str]
    description: pulumi.Output[str | None]
    backup_storage_uuid: pulumi.Output[str | None]
    instance_offering_uuid: pulumi.Output[str | None]
    cpu_num: pulumi.Output[int | None]
    memory_size: pulumi.Output[int | None]
    l3_network_uuids: pulumi.Output[list[str] | None]
    default_l3_network_uuid: pulumi.Output[str | None]
    zone_uuid: pulumi.Output[str | None]
    cluster_uuid: pulumi.Output[str | None]
    host_uuid: pulumi.Output[str | None]
    primary_storage_uuid_for_root_volume: pulumi.Output[str | None]
    primary_storage_uuid_for_data_volume: pulumi.Output[str | None]
    strategy: pulumi.Output[str | None]
    create_timeout: pulumi.Output[str | None]
    delete_timeout: pulumi.Output[str | None]
    max_poll_interval: pulumi.Output[str | None]
    state: pulumi.Output[str]
    """The VM's state: ``Running`` after an ``InstantStart`` restore."""
    vm_host_uuid: pulumi.Output[str | None]
    """The host the VM runs on."""
    root_volume_uuid: pulumi.Output[str | None]
    """The VM's new root volume."""
    data_volume_uuids: pulumi.Output[list[str]]
    """The VM's new data volumes, in device order."""
    nics: pulumi.Output[list[dict[str, Any]]]
    """The VM's NICs in device order: ``uuid``, ``l3_network_uuid``, ``ip``, ``mac``, ``netmask``,
    ``gateway``."""
    owner_stack: pulumi.Output[str]
    """``organization/project/stack`` of the program that declared the VM; part of its uuid."""
    owner_urn: pulumi.Output[str]
    """The resource's URN when the VM was made; part of its uuid and of its owner tag."""
    owner_claim: pulumi.Output[str | None]
    """The token in the VM's owner tag; only the resource that keeps it removes the VM."""

    def __init__(
        self,
        resource_name: str,
        args: VmFromBackupArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        inputs = inputs_of("VmFromBackup", VmFromBackupArgs, resource_name, args, kwargs)
        inputs.update(owner_inputs(RESOURCE_TYPE, resource_name, opts))
        super().__init__(
            VmFromBackupProvider(), resource_name, every_property(VmFromBackupProperties, inputs), opts
        )
