"""The default seed: well-known uuids that tests and the demo program refer to.

Every uuid is a 32-hex UUID v4 without dashes. The first hex digit says what it is: `1` VM, `2` volume,
`3` backup storage, `a` account, `e` infrastructure (zone, cluster, host, primary storage, network, image).
"""

from __future__ import annotations

from typing import Any

from ._model import (
    AccessKey,
    Account,
    BackupStorage,
    Cluster,
    Host,
    InstanceOffering,
    IpRange,
    L3Network,
    PrimaryStorage,
    StateData,
    VmInstance,
    VmNic,
    Volume,
    Zone,
)

ADMIN_ACCOUNT_NAME = "admin"
ADMIN_PASSWORD = "password"  # noqa: S105 - the simulator's published test credential
ADMIN_ACCOUNT_UUID = "a0000000000040008000000000000001"
ACCESS_KEY_ID = "SimAccessKeyId000001"
ACCESS_KEY_SECRET = "SimAccessKeySecret0000000000000000000001"  # noqa: S105 - published test credential

ZONE_UUID = "e0000000000040008000000000000001"
CLUSTER_UUID = "e0000000000040008000000000000002"
HOST_UUID = "e0000000000040008000000000000003"
PRIMARY_STORAGE_UUID = "e0000000000040008000000000000004"
L3_NETWORK_UUID = "e0000000000040008000000000000005"
IMAGE_UUID = "e0000000000040008000000000000006"
INSTANCE_OFFERING_UUID = "e0000000000040008000000000000007"
# Networks a restored VM can be put on: the production one the seed VMs use, an isolated one for restore
# drills (nothing else lives there), and one without an IP range (CreateVmFromVmBackup refuses it).
ISOLATED_L3_NETWORK_UUID = "e0000000000040008000000000000008"
NO_IP_RANGE_L3_NETWORK_UUID = "e0000000000040008000000000000009"
SECOND_PRIMARY_STORAGE_UUID = "e000000000004000800000000000000a"
L2_NETWORK_UUID = "e000000000004000800000000000000b"
ISOLATED_L2_NETWORK_UUID = "e000000000004000800000000000000c"

# Running, with two data volumes and a shareable one (which a VM backup must leave out).
RUNNING_VM_UUID = "10000000000040008000000000000001"
RUNNING_VM_ROOT_VOLUME_UUID = "20000000000040008000000000000011"
RUNNING_VM_DATA_VOLUME_UUIDS = ("20000000000040008000000000000012", "20000000000040008000000000000013")
RUNNING_VM_SHARED_VOLUME_UUID = "20000000000040008000000000000014"
# Paused (backups allowed), one data volume.
PAUSED_VM_UUID = "10000000000040008000000000000002"
PAUSED_VM_ROOT_VOLUME_UUID = "20000000000040008000000000000021"
PAUSED_VM_DATA_VOLUME_UUID = "20000000000040008000000000000022"
# Stopped (backups refused), one data volume.
STOPPED_VM_UUID = "10000000000040008000000000000003"
STOPPED_VM_ROOT_VOLUME_UUID = "20000000000040008000000000000031"
STOPPED_VM_DATA_VOLUME_UUID = "20000000000040008000000000000032"
# Running, root volume only.
ROOT_ONLY_VM_UUID = "10000000000040008000000000000004"
ROOT_ONLY_VM_ROOT_VOLUME_UUID = "20000000000040008000000000000041"
# Starting (backups refused).
STARTING_VM_UUID = "10000000000040008000000000000005"
STARTING_VM_ROOT_VOLUME_UUID = "20000000000040008000000000000051"
# A data volume attached to nothing, and a root volume whose VM is gone.
DETACHED_DATA_VOLUME_UUID = "20000000000040008000000000000061"
ORPHAN_ROOT_VOLUME_UUID = "20000000000040008000000000000071"

IMAGESTORE_BS_UUID = "30000000000040008000000000000001"
DISABLED_IMAGESTORE_BS_UUID = "30000000000040008000000000000002"
CEPH_BS_UUID = "30000000000040008000000000000003"
SFTP_BS_UUID = "30000000000040008000000000000004"
# A second working ImageStore in another site: the target of offsite copies.
REMOTE_IMAGESTORE_BS_UUID = "30000000000040008000000000000005"

SEED_CREATED_AT = 1714550400.0  # 2024-05-01 08:00:00 UTC
_GIB = 1024**3


def _vm(uuid: str, name: str, state: str, nic: int) -> VmInstance:
    host = HOST_UUID if state in ("Running", "Paused", "Starting") else None
    return VmInstance(
        uuid=uuid,
        name=name,
        state=state,
        zone_uuid=ZONE_UUID,
        cluster_uuid=CLUSTER_UUID,
        host_uuid=host,
        last_host_uuid=HOST_UUID,
        image_uuid=IMAGE_UUID,
        instance_offering_uuid=INSTANCE_OFFERING_UUID,
        default_l3_network_uuid=L3_NETWORK_UUID,
        guest_os_type="CentOS 7",
        vm_nics=[
            VmNic(
                uuid=f"{uuid[:-4]}{nic + 0xA00:04x}",
                l3_network_uuid=L3_NETWORK_UUID,
                ip=f"192.168.100.{10 + nic}",
                mac=f"fa:16:3e:00:00:{nic:02x}",
                gateway="192.168.100.1",
            )
        ],
        create_date=SEED_CREATED_AT,
        last_op_date=SEED_CREATED_AT,
    )


def _volume(
    uuid: str,
    name: str,
    kind: str,
    vm: str | None,
    size_gib: int,
    device: int | None,
    *,
    shareable: bool = False,
) -> Volume:
    return Volume(
        uuid=uuid,
        name=name,
        type="Root" if kind == "Root" else "Data",
        vm_instance_uuid=vm,
        is_shareable=shareable,
        size=size_gib * _GIB,
        actual_size=size_gib * _GIB // 8,
        device_id=device,
        primary_storage_uuid=PRIMARY_STORAGE_UUID,
        format="raw" if shareable else "qcow2",
        install_path=f"/zstack_ps/dataVolumes/acct-{ADMIN_ACCOUNT_UUID}/vol-{uuid}/{uuid}.qcow2",
        root_image_uuid=IMAGE_UUID if kind == "Root" else None,
        create_date=SEED_CREATED_AT,
        last_op_date=SEED_CREATED_AT,
    )


def _backup_storage(
    uuid: str, name: str, kind: str, state: str, url: str, *, hostname: str = "172.20.0.10"
) -> BackupStorage:
    return BackupStorage(
        uuid=uuid,
        name=name,
        type=kind,
        state=state,
        url=url,
        hostname=hostname if kind == "ImageStoreBackupStorage" else None,
        total_capacity=4096 * _GIB,
        available_capacity=3072 * _GIB,
        attached_zone_uuids=[ZONE_UUID],
        create_date=SEED_CREATED_AT,
        last_op_date=SEED_CREATED_AT,
    )


def _l3(uuid: str, name: str, l2: str, prefix: str | None) -> L3Network:
    ranges = (
        [
            IpRange(
                uuid=f"{uuid[:-4]}{0xF00 + int(uuid[-2:], 16):04x}",
                name=f"{name}-range",
                start_ip=f"{prefix}.10",
                end_ip=f"{prefix}.200",
                netmask="255.255.255.0",
                gateway=f"{prefix}.1",
                network_cidr=f"{prefix}.0/24",
            )
        ]
        if prefix
        else []
    )
    return L3Network(
        uuid=uuid,
        name=name,
        zone_uuid=ZONE_UUID,
        l2_network_uuid=l2,
        ip_ranges=ranges,
        create_date=SEED_CREATED_AT,
        last_op_date=SEED_CREATED_AT,
    )


def _primary_storage(uuid: str, name: str, url: str) -> PrimaryStorage:
    return PrimaryStorage(
        uuid=uuid,
        name=name,
        zone_uuid=ZONE_UUID,
        url=url,
        total_capacity=8192 * _GIB,
        available_capacity=6144 * _GIB,
        attached_cluster_uuids=[CLUSTER_UUID],
        create_date=SEED_CREATED_AT,
        last_op_date=SEED_CREATED_AT,
    )


INFRASTRUCTURE_KEYS = ("zones", "clusters", "hosts", "primaryStorages", "l3Networks", "instanceOfferings")


def default_infrastructure() -> StateData:
    """The zone, cluster, host, primary storages, networks and instance offering, and nothing else."""
    return StateData(
        zones=[Zone(uuid=ZONE_UUID, name="zone-01")],
        clusters=[Cluster(uuid=CLUSTER_UUID, name="cluster-01", zone_uuid=ZONE_UUID)],
        hosts=[
            Host(
                uuid=HOST_UUID,
                name="kvm-host-01",
                zone_uuid=ZONE_UUID,
                cluster_uuid=CLUSTER_UUID,
                management_ip="172.20.0.21",
            )
        ],
        primary_storages=[
            _primary_storage(PRIMARY_STORAGE_UUID, "local-ps-01", "/zstack_ps"),
            _primary_storage(SECOND_PRIMARY_STORAGE_UUID, "local-ps-02", "/zstack_ps2"),
        ],
        l3_networks=[
            _l3(L3_NETWORK_UUID, "l3-production", L2_NETWORK_UUID, "192.168.100"),
            _l3(ISOLATED_L3_NETWORK_UUID, "l3-restore-drill", ISOLATED_L2_NETWORK_UUID, "10.99.0"),
            _l3(NO_IP_RANGE_L3_NETWORK_UUID, "l3-no-ip-range", L2_NETWORK_UUID, None),
        ],
        instance_offerings=[
            InstanceOffering(
                uuid=INSTANCE_OFFERING_UUID,
                name="small-2c2g",
                cpu_num=2,
                memory_size=2 * _GIB,
                create_date=SEED_CREATED_AT,
                last_op_date=SEED_CREATED_AT,
            )
        ],
    )


def with_default_infrastructure(document: Any) -> Any:
    """A state document saved before the simulator knew networks and offerings gets the default ones."""
    if not isinstance(document, dict):
        return document
    infrastructure = default_infrastructure().model_dump(by_alias=True)
    return {key: infrastructure[key] for key in INFRASTRUCTURE_KEYS if key not in document} | document


def default_seed() -> StateData:
    """A fresh copy of the default data set (no backups, no jobs)."""
    data1, data2 = RUNNING_VM_DATA_VOLUME_UUIDS
    return default_infrastructure().model_copy(
        update={
            "accounts": [Account(uuid=ADMIN_ACCOUNT_UUID, name=ADMIN_ACCOUNT_NAME, password=ADMIN_PASSWORD)],
            "access_keys": [
                AccessKey(id=ACCESS_KEY_ID, secret=ACCESS_KEY_SECRET, account_uuid=ADMIN_ACCOUNT_UUID)
            ],
            "vm_instances": [
                _vm(RUNNING_VM_UUID, "web-01", "Running", 1),
                _vm(PAUSED_VM_UUID, "db-01", "Paused", 2),
                _vm(STOPPED_VM_UUID, "batch-01", "Stopped", 3),
                _vm(ROOT_ONLY_VM_UUID, "build-01", "Running", 4),
                _vm(STARTING_VM_UUID, "ops-01", "Starting", 5),
            ],
            "volumes": [
                _volume(RUNNING_VM_ROOT_VOLUME_UUID, "ROOT-for-web-01", "Root", RUNNING_VM_UUID, 40, 0),
                _volume(data1, "web-01-data-1", "Data", RUNNING_VM_UUID, 100, 1),
                _volume(data2, "web-01-data-2", "Data", RUNNING_VM_UUID, 200, 2),
                _volume(
                    RUNNING_VM_SHARED_VOLUME_UUID,
                    "shared-scratch",
                    "Data",
                    RUNNING_VM_UUID,
                    50,
                    3,
                    shareable=True,
                ),
                _volume(PAUSED_VM_ROOT_VOLUME_UUID, "ROOT-for-db-01", "Root", PAUSED_VM_UUID, 40, 0),
                _volume(PAUSED_VM_DATA_VOLUME_UUID, "db-01-data", "Data", PAUSED_VM_UUID, 500, 1),
                _volume(STOPPED_VM_ROOT_VOLUME_UUID, "ROOT-for-batch-01", "Root", STOPPED_VM_UUID, 40, 0),
                _volume(STOPPED_VM_DATA_VOLUME_UUID, "batch-01-data", "Data", STOPPED_VM_UUID, 100, 1),
                _volume(ROOT_ONLY_VM_ROOT_VOLUME_UUID, "ROOT-for-build-01", "Root", ROOT_ONLY_VM_UUID, 20, 0),
                _volume(STARTING_VM_ROOT_VOLUME_UUID, "ROOT-for-ops-01", "Root", STARTING_VM_UUID, 20, 0),
                _volume(DETACHED_DATA_VOLUME_UUID, "spare-data", "Data", None, 10, None),
                _volume(ORPHAN_ROOT_VOLUME_UUID, "ROOT-for-deleted-vm", "Root", None, 20, None),
            ],
            "backup_storages": [
                _backup_storage(
                    IMAGESTORE_BS_UUID,
                    "imagestore-01",
                    "ImageStoreBackupStorage",
                    "Enabled",
                    "/zstack_bs/imagestore-01",
                ),
                _backup_storage(
                    DISABLED_IMAGESTORE_BS_UUID,
                    "imagestore-02-maintenance",
                    "ImageStoreBackupStorage",
                    "Disabled",
                    "/zstack_bs/imagestore-02",
                ),
                _backup_storage(CEPH_BS_UUID, "ceph-bs-01", "Ceph", "Enabled", "ceph://pool-backup"),
                _backup_storage(SFTP_BS_UUID, "sftp-bs-01", "SftpBackupStorage", "Enabled", "/sftp_bs"),
                _backup_storage(
                    REMOTE_IMAGESTORE_BS_UUID,
                    "imagestore-offsite-01",
                    "ImageStoreBackupStorage",
                    "Enabled",
                    "/zstack_bs/imagestore-offsite-01",
                    hostname="172.30.0.10",
                ),
            ],
        }
    )
