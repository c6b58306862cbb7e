"""Inventories (the JSON objects ZStack returns) built from stored records, and what is queryable."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ._model import BackupStorage, UserTag, VmInstance, Volume, VolumeBackup
from ._query import Nested, ResourceSchema

_TAGS = frozenset({"__systemTag__", "__userTag__"})


def _date(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value)


def volume_backup_inventory(backup: VolumeBackup) -> dict[str, Any]:
    return {
        "uuid": backup.uuid,
        "volumeUuid": backup.volume_uuid,
        "name": backup.name,
        "description": backup.description,
        "type": backup.type,
        "state": backup.state,
        "status": backup.status,
        "size": backup.size,
        "metadata": backup.metadata,
        "groupUuid": backup.group_uuid,
        "mode": backup.mode,
        "vmInstanceUuid": backup.vm_instance_uuid,
        "createDate": _date(backup.create_date),
        "lastOpDate": _date(backup.last_op_date),
        "backupStorageRefs": [
            {
                "volumeBackupUuid": backup.uuid,
                "backupStorageUuid": ref.backup_storage_uuid,
                "installPath": ref.install_path,
                "status": ref.status,
                "createDate": _date(ref.create_date),
                "lastOpDate": _date(ref.last_op_date),
            }
            for ref in backup.backup_storage_refs
        ],
        "__systemTag__": list(backup.system_tags),
        "__userTag__": [],
    }


def volume_inventory(volume: Volume) -> dict[str, Any]:
    return {
        "uuid": volume.uuid,
        "name": volume.name,
        "description": volume.description,
        "primaryStorageUuid": volume.primary_storage_uuid,
        "vmInstanceUuid": volume.vm_instance_uuid,
        "lastVmInstanceUuid": volume.last_vm_instance_uuid,
        "diskOfferingUuid": volume.disk_offering_uuid,
        "rootImageUuid": volume.root_image_uuid,
        "installPath": volume.install_path,
        "type": volume.type,
        "format": volume.format,
        "size": volume.size,
        "actualSize": volume.actual_size,
        "deviceId": volume.device_id,
        "state": volume.state,
        "status": volume.status,
        "isShareable": volume.is_shareable,
        "createDate": _date(volume.create_date),
        "lastOpDate": _date(volume.last_op_date),
        "__systemTag__": [],
        "__userTag__": [],
    }


def vm_inventory(vm: VmInstance, volumes: Sequence[Volume]) -> dict[str, Any]:
    attached = [v for v in volumes if v.vm_instance_uuid == vm.uuid]
    root = next((v.uuid for v in attached if v.type == "Root"), None)
    return {
        "uuid": vm.uuid,
        "name": vm.name,
        "description": vm.description,
        "zoneUuid": vm.zone_uuid,
        "clusterUuid": vm.cluster_uuid,
        "imageUuid": vm.image_uuid,
        "hostUuid": vm.host_uuid,
        "lastHostUuid": vm.last_host_uuid,
        "instanceOfferingUuid": vm.instance_offering_uuid,
        "rootVolumeUuid": root,
        "platform": vm.platform,
        "guestOsType": vm.guest_os_type,
        "architecture": vm.architecture,
        "defaultL3NetworkUuid": vm.default_l3_network_uuid,
        "type": vm.type,
        "hypervisorType": vm.hypervisor_type,
        "memorySize": vm.memory_size,
        "cpuNum": vm.cpu_num,
        "state": vm.state,
        "createDate": _date(vm.create_date),
        "lastOpDate": _date(vm.last_op_date),
        "vmNics": [
            {
                "uuid": nic.uuid,
                "vmInstanceUuid": vm.uuid,
                "l3NetworkUuid": nic.l3_network_uuid,
                "ip": nic.ip,
                "mac": nic.mac,
                "netmask": nic.netmask,
                "gateway": nic.gateway,
                "deviceId": nic.device_id,
            }
            for nic in vm.vm_nics
        ],
        "allVolumes": [{k: v for k, v in volume_inventory(v).items() if k not in _TAGS} for v in attached],
        "__systemTag__": [],
        "__userTag__": [],
    }


def backup_storage_inventory(storage: BackupStorage) -> dict[str, Any]:
    return {
        "uuid": storage.uuid,
        "name": storage.name,
        "description": storage.description,
        "url": storage.url,
        "hostname": storage.hostname,
        "type": storage.type,
        "state": storage.state,
        "status": storage.status,
        "totalCapacity": storage.total_capacity,
        "availableCapacity": storage.available_capacity,
        "attachedZoneUuids": list(storage.attached_zone_uuids),
        "createDate": _date(storage.create_date),
        "lastOpDate": _date(storage.last_op_date),
        "__systemTag__": [],
        "__userTag__": [],
    }


_REF_FIELDS = frozenset(
    {"volumeBackupUuid", "backupStorageUuid", "installPath", "status", "createDate", "lastOpDate"}
)
_VOLUME_FIELDS = frozenset(
    {
        "uuid",
        "name",
        "description",
        "primaryStorageUuid",
        "vmInstanceUuid",
        "lastVmInstanceUuid",
        "diskOfferingUuid",
        "rootImageUuid",
        "installPath",
        "type",
        "format",
        "size",
        "actualSize",
        "deviceId",
        "state",
        "status",
        "isShareable",
        "createDate",
        "lastOpDate",
    }
)
_BACKUP_REFS = Nested(
    "backupStorageRefs", _REF_FIELDS, "org.zstack.header.storage.backup.VolumeBackupStorageRefInventory"
)

VOLUME_BACKUP_SCHEMA = ResourceSchema(
    inventory_class="org.zstack.header.storage.backup.VolumeBackupInventory",
    fields=frozenset(
        {
            "uuid",
            "name",
            "description",
            "volumeUuid",
            "groupUuid",
            "type",
            "mode",
            "size",
            "state",
            "status",
            "metadata",
            "vmInstanceUuid",
            "createDate",
            "lastOpDate",
        }
    )
    | _TAGS,
    nested={"backupStorageRefs": _BACKUP_REFS, "backupStorageRef": _BACKUP_REFS},
    aliases={"backupStorage.uuid": "backupStorageRef.backupStorageUuid"},
)
VOLUME_SCHEMA = ResourceSchema(
    inventory_class="org.zstack.header.volume.VolumeInventory", fields=_VOLUME_FIELDS | _TAGS
)
VM_INSTANCE_SCHEMA = ResourceSchema(
    inventory_class="org.zstack.header.vm.VmInstanceInventory",
    fields=frozenset(
        {
            "uuid",
            "name",
            "description",
            "zoneUuid",
            "clusterUuid",
            "imageUuid",
            "hostUuid",
            "lastHostUuid",
            "instanceOfferingUuid",
            "rootVolumeUuid",
            "platform",
            "guestOsType",
            "architecture",
            "defaultL3NetworkUuid",
            "type",
            "hypervisorType",
            "memorySize",
            "cpuNum",
            "state",
            "createDate",
            "lastOpDate",
        }
    )
    | _TAGS,
    nested={
        "vmNics": Nested(
            "vmNics",
            frozenset(
                {"uuid", "vmInstanceUuid", "l3NetworkUuid", "ip", "mac", "netmask", "gateway", "deviceId"}
            ),
            "org.zstack.header.vm.VmNicInventory",
        ),
        "allVolumes": Nested("allVolumes", _VOLUME_FIELDS, "org.zstack.header.volume.VolumeInventory"),
    },
)
BACKUP_STORAGE_SCHEMA = ResourceSchema(
    inventory_class="org.zstack.header.storage.backup.BackupStorageInventory",
    fields=frozenset(
        {
            "uuid",
            "name",
            "description",
            "url",
            "hostname",
            "type",
            "state",
            "status",
            "totalCapacity",
            "availableCapacity",
            "createDate",
            "lastOpDate",
        }
    )
    | _TAGS,
)


def user_tag_inventory(tag: UserTag) -> dict[str, Any]:
    return {
        "uuid": tag.uuid,
        "resourceUuid": tag.resource_uuid,
        "resourceType": tag.resource_type,
        "tag": tag.tag,
        "type": "User",
        "createDate": _date(tag.create_date),
        "lastOpDate": _date(tag.last_op_date),
    }


USER_TAG_SCHEMA = ResourceSchema(
    inventory_class="org.zstack.header.tag.UserTagInventory",
    fields=frozenset({"uuid", "resourceUuid", "resourceType", "tag", "type", "createDate", "lastOpDate"}),
)
