"""Inventories of what a restored VM is placed on: L3 networks, instance offerings, primary storage.

Field names follow ZStack's Java SDK (`L3NetworkInventory`, `IpRangeInventory`, `InstanceOfferingInventory`,
`PrimaryStorageInventory`); only the fields the simulator has data for are written.
"""

from __future__ import annotations

from typing import Any

from ._inventory import _TAGS, _date
from ._model import InstanceOffering, L3Network, PrimaryStorage
from ._query import Nested, ResourceSchema


def l3_network_inventory(network: L3Network) -> dict[str, Any]:
    return {
        "uuid": network.uuid,
        "name": network.name,
        "description": network.description,
        "type": network.type,
        "zoneUuid": network.zone_uuid,
        "l2NetworkUuid": network.l2_network_uuid,
        "state": network.state,
        "system": network.system,
        "category": network.category,
        "ipVersion": 4,
        "createDate": _date(network.create_date),
        "lastOpDate": _date(network.last_op_date),
        "ipRanges": [
            {
                "uuid": ip_range.uuid,
                "l3NetworkUuid": network.uuid,
                "name": ip_range.name,
                "startIp": ip_range.start_ip,
                "endIp": ip_range.end_ip,
                "netmask": ip_range.netmask,
                "gateway": ip_range.gateway,
                "networkCidr": ip_range.network_cidr,
                "ipVersion": 4,
            }
            for ip_range in network.ip_ranges
        ],
        "__systemTag__": [],
        "__userTag__": [],
    }


def instance_offering_inventory(offering: InstanceOffering) -> dict[str, Any]:
    return {
        "uuid": offering.uuid,
        "name": offering.name,
        "description": offering.description,
        "cpuNum": offering.cpu_num,
        "cpuSpeed": offering.cpu_speed,
        "memorySize": offering.memory_size,
        "type": offering.type,
        "allocatorStrategy": offering.allocator_strategy,
        "sortKey": offering.sort_key,
        "state": offering.state,
        "createDate": _date(offering.create_date),
        "lastOpDate": _date(offering.last_op_date),
        "__systemTag__": [],
        "__userTag__": [],
    }


def primary_storage_inventory(storage: PrimaryStorage) -> dict[str, Any]:
    return {
        "uuid": storage.uuid,
        "name": storage.name,
        "description": storage.description,
        "zoneUuid": storage.zone_uuid,
        "url": storage.url,
        "type": storage.type,
        "state": storage.state,
        "status": storage.status,
        "totalCapacity": storage.total_capacity,
        "availableCapacity": storage.available_capacity,
        "attachedClusterUuids": list(storage.attached_cluster_uuids),
        "createDate": _date(storage.create_date),
        "lastOpDate": _date(storage.last_op_date),
        "__systemTag__": [],
        "__userTag__": [],
    }


_IP_RANGE_FIELDS = frozenset(
    {"uuid", "l3NetworkUuid", "name", "startIp", "endIp", "netmask", "gateway", "networkCidr", "ipVersion"}
)
L3_NETWORK_SCHEMA = ResourceSchema(
    inventory_class="org.zstack.header.network.l3.L3NetworkInventory",
    fields=frozenset(
        {
            "uuid",
            "name",
            "description",
            "type",
            "zoneUuid",
            "l2NetworkUuid",
            "state",
            "system",
            "category",
            "ipVersion",
            "createDate",
            "lastOpDate",
        }
    )
    | _TAGS,
    nested={
        "ipRanges": Nested("ipRanges", _IP_RANGE_FIELDS, "org.zstack.header.network.l3.IpRangeInventory")
    },
)
INSTANCE_OFFERING_SCHEMA = ResourceSchema(
    inventory_class="org.zstack.header.configuration.InstanceOfferingInventory",
    fields=frozenset(
        {
            "uuid",
            "name",
            "description",
            "cpuNum",
            "cpuSpeed",
            "memorySize",
            "type",
            "allocatorStrategy",
            "sortKey",
            "state",
            "createDate",
            "lastOpDate",
        }
    )
    | _TAGS,
)
PRIMARY_STORAGE_SCHEMA = ResourceSchema(
    inventory_class="org.zstack.header.storage.primary.PrimaryStorageInventory",
    fields=frozenset(
        {
            "uuid",
            "name",
            "description",
            "zoneUuid",
            "url",
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
