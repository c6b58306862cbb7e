"""What the simulated management node stores; also the format of seed and state files (camelCase JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel


class Record(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", hide_input_in_errors=True
    )


class Account(Record):
    uuid: str
    name: str
    password: str = Field(repr=False)
    """Plain text; a login must send its SHA-512 hex."""


class AccessKey(Record):
    id: str
    secret: str = Field(repr=False)
    account_uuid: str
    state: Literal["Enabled", "Disabled"] = "Enabled"


class VmNic(Record):
    uuid: str
    l3_network_uuid: str
    ip: str
    mac: str
    netmask: str = "255.255.255.0"
    gateway: str | None = None
    device_id: int = 0


class VmInstance(Record):
    uuid: str
    name: str
    description: str | None = None
    state: str
    zone_uuid: str | None = None
    cluster_uuid: str | None = None
    host_uuid: str | None = None
    last_host_uuid: str | None = None
    image_uuid: str | None = None
    instance_offering_uuid: str | None = None
    default_l3_network_uuid: str | None = None
    platform: str = "Linux"
    guest_os_type: str | None = None
    architecture: str = "x86_64"
    cpu_num: int = 2
    memory_size: int = 2 * 1024**3
    hypervisor_type: str = "KVM"
    type: str = "UserVm"
    vm_nics: list[VmNic] = Field(default_factory=list)
    create_date: float | None = None
    last_op_date: float | None = None


class Volume(Record):
    uuid: str
    name: str
    description: str | None = None
    type: Literal["Root", "Data"]
    vm_instance_uuid: str | None = None
    is_shareable: bool = False
    size: int
    actual_size: int | None = None
    device_id: int | None = None
    state: str = "Enabled"
    status: str = "Ready"
    primary_storage_uuid: str | None = None
    format: str = "qcow2"
    install_path: str | None = None
    root_image_uuid: str | None = None
    disk_offering_uuid: str | None = None
    last_vm_instance_uuid: str | None = None
    create_date: float | None = None
    last_op_date: float | None = None


class BackupStorage(Record):
    uuid: str
    name: str
    description: str | None = None
    type: str
    state: str = "Enabled"
    status: str = "Connected"
    url: str
    hostname: str | None = None
    total_capacity: int
    available_capacity: int
    attached_zone_uuids: list[str] = Field(default_factory=list)
    create_date: float | None = None
    last_op_date: float | None = None


class BackupStorageRef(Record):
    backup_storage_uuid: str
    install_path: str | None = None
    status: str
    create_date: float
    last_op_date: float


class VolumeBackup(Record):
    uuid: str
    volume_uuid: str
    name: str
    description: str | None = None
    type: str
    state: str
    status: str
    size: int = 0
    metadata: str | None = None
    group_uuid: str | None = None
    mode: str | None = None
    vm_instance_uuid: str | None = None
    backup_storage_refs: list[BackupStorageRef] = Field(default_factory=list)
    system_tags: list[str] = Field(default_factory=list)
    create_date: float
    last_op_date: float
    parent_uuid: str | None = None
    """The backup whose image this one's image builds on (None for a base image); never on the wire."""


class VolumeBackupHistory(Record):
    """ZStack's VolumeBackupHistoryVO: the last backup taken of a volume, which the next auto backup of
    that volume builds on. ZStack drops it when that backup's row is deleted (foreign key, cascade)."""

    volume_uuid: str
    last_backup_uuid: str


class Zone(Record):
    uuid: str
    name: str
    state: str = "Enabled"


class Cluster(Record):
    uuid: str
    name: str
    zone_uuid: str
    state: str = "Enabled"
    hypervisor_type: str = "KVM"


class Host(Record):
    uuid: str
    name: str
    zone_uuid: str
    cluster_uuid: str
    management_ip: str
    state: str = "Enabled"
    status: str = "Connected"


class PrimaryStorage(Record):
    uuid: str
    name: str
    description: str | None = None
    zone_uuid: str
    type: str = "LocalStorage"
    state: str = "Enabled"
    status: str = "Connected"
    url: str
    total_capacity: int
    available_capacity: int
    attached_cluster_uuids: list[str] = Field(default_factory=list)
    create_date: float | None = None
    last_op_date: float | None = None


class IpRange(Record):
    uuid: str
    name: str
    start_ip: str
    end_ip: str
    netmask: str
    gateway: str
    network_cidr: str


class L3Network(Record):
    uuid: str
    name: str
    description: str | None = None
    type: str = "L3BasicNetwork"
    zone_uuid: str
    l2_network_uuid: str
    state: str = "Enabled"
    system: bool = False
    category: str = "Private"
    ip_ranges: list[IpRange] = Field(default_factory=list)
    create_date: float | None = None
    last_op_date: float | None = None


class InstanceOffering(Record):
    uuid: str
    name: str
    description: str | None = None
    cpu_num: int
    cpu_speed: int = 0
    memory_size: int
    type: str = "UserVm"
    allocator_strategy: str = "LeastVmPreferredHostAllocatorStrategy"
    state: str = "Enabled"
    sort_key: int = 0
    create_date: float | None = None
    last_op_date: float | None = None


class UserTag(Record):
    """A free-form tag a user attached to any resource (CreateUserTag)."""

    uuid: str
    resource_uuid: str
    resource_type: str
    tag: str
    create_date: float
    last_op_date: float


class Job(Record):
    """An async API call: its outcome is computed when a poll (or any read) finds it due."""

    uuid: str
    api: str
    method: str
    path: str
    created_at: float
    polls: int = 0
    complete_after_polls: int | None = None
    complete_after_seconds: float | None = None
    state: Literal["processing", "done"] = "processing"
    done_at: float | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    inject_error: dict[str, Any] | None = None
    expire_record: bool = False
    params: dict[str, Any] = Field(default_factory=dict)


class VmBackupRetention(Record):
    """A `BackupRetentionPolicy` of a vmBackup scheduler job (`Count` or `Days`)."""

    retention_type: Literal["Count", "Days"] | None = None
    retention_value: int = 0
    full_backup_retention_value: int = 0


class VmBackupJobData(Record):
    """What a `vmBackup` scheduler job keeps of its `parameters` (server class `CreateVmBackupJob`)."""

    backup_storage_uuids: list[str] | None = None
    remote_backup_storage_uuid: str | None = None
    full_backup_trigger_uuid: str | None = None
    retention: VmBackupRetention = Field(default_factory=VmBackupRetention)
    remote_retention: VmBackupRetention | None = None
    bandwidths: dict[str, int | None] = Field(default_factory=dict)


class SchedulerJob(Record):
    uuid: str
    name: str
    description: str | None = None
    target_resource_uuid: str
    type: str
    state: Literal["Enabled", "Disabled"] = "Enabled"
    job_data: VmBackupJobData
    create_date: float
    last_op_date: float


class SchedulerTrigger(Record):
    uuid: str
    name: str
    description: str | None = None
    scheduler_type: Literal["simple", "cron"]
    scheduler_interval: int | None = None
    repeat_count: int | None = None
    start_time: float | None = None
    stop_time: float | None = None
    cron: str | None = None
    create_date: float
    last_op_date: float


class SchedulerJobTriggerRef(Record):
    """A job added to a trigger, with the simulator's own record of when it fires next."""

    uuid: str
    scheduler_job_uuid: str
    scheduler_trigger_uuid: str
    create_date: float
    last_op_date: float
    scheduled_at: float | None = None
    """When the job was (re)scheduled on this trigger; None while the job is disabled."""
    next_fire_at: float | None = None


class ScheduledRun(Record):
    """One firing of a scheduler job: skipped, or a VM backup that runs, succeeds or fails."""

    uuid: str
    scheduler_job_uuid: str
    scheduler_trigger_uuid: str
    target_resource_uuid: str
    fired_at: float
    state: Literal["running", "succeeded", "failed", "skipped"]
    finish_at: float | None = None
    group_uuid: str | None = None
    error: dict[str, Any] | None = None
    copy_error: dict[str, Any] | None = None
    """Why the copy to the remote backup storage failed, if it did (the run still succeeded)."""
    backup_job: Job | None = None
    job_data: VmBackupJobData | None = None
    """The job's parameters when it fired: retention applies them even if the job changes meanwhile."""


class StateData(Record):
    """Everything the simulator holds except sessions; a seed file is the same shape without jobs."""

    accounts: list[Account] = Field(default_factory=list)
    access_keys: list[AccessKey] = Field(default_factory=list)
    vm_instances: list[VmInstance] = Field(default_factory=list)
    volumes: list[Volume] = Field(default_factory=list)
    backup_storages: list[BackupStorage] = Field(default_factory=list)
    zones: list[Zone] = Field(default_factory=list)
    clusters: list[Cluster] = Field(default_factory=list)
    hosts: list[Host] = Field(default_factory=list)
    primary_storages: list[PrimaryStorage] = Field(default_factory=list)
    l3_networks: list[L3Network] = Field(default_factory=list)
    instance_offerings: list[InstanceOffering] = Field(default_factory=list)
    volume_backups: list[VolumeBackup] = Field(default_factory=list)
    user_tags: list[UserTag] = Field(default_factory=list)
    volume_backup_histories: list[VolumeBackupHistory] = Field(default_factory=list)
    jobs: list[Job] = Field(default_factory=list)
    scheduler_jobs: list[SchedulerJob] = Field(default_factory=list)
    scheduler_triggers: list[SchedulerTrigger] = Field(default_factory=list)
    scheduler_job_trigger_refs: list[SchedulerJobTriggerRef] = Field(default_factory=list)
    scheduler_runs: list[ScheduledRun] = Field(default_factory=list)

    def drop_tags(self, *resource_uuids: str) -> None:
        """A removed row's tags go with it (`TagManagerImpl.postDelete`, run on every soft or hard delete of
        an entity): a resource created later under the same uuid starts without tags."""
        gone = set(resource_uuids)
        self.user_tags = [t for t in self.user_tags if t.resource_uuid not in gone]

    def check(self) -> None:
        """Refuse data the simulator could not serve consistently."""
        groups: dict[str, list[str]] = {
            "account": [a.uuid for a in self.accounts],
            "accessKey": [k.id for k in self.access_keys],
            "vmInstance": [v.uuid for v in self.vm_instances],
            "volume": [v.uuid for v in self.volumes],
            "backupStorage": [b.uuid for b in self.backup_storages],
            "zone": [z.uuid for z in self.zones],
            "cluster": [c.uuid for c in self.clusters],
            "host": [h.uuid for h in self.hosts],
            "primaryStorage": [p.uuid for p in self.primary_storages],
            "l3Network": [n.uuid for n in self.l3_networks],
            "instanceOffering": [o.uuid for o in self.instance_offerings],
            "volumeBackup": [b.uuid for b in self.volume_backups],
            "schedulerJob": [j.uuid for j in self.scheduler_jobs],
            "schedulerTrigger": [t.uuid for t in self.scheduler_triggers],
        }
        for kind, uuids in groups.items():
            duplicates = sorted({u for u in uuids if uuids.count(u) > 1})
            if duplicates:
                raise ValueError(f"duplicate {kind} ids: {', '.join(duplicates)}")
        accounts = set(groups["account"])
        for key in self.access_keys:
            if key.account_uuid not in accounts:
                raise ValueError(f"access key {key.id} refers to unknown account {key.account_uuid}")
        vms = set(groups["vmInstance"])
        for volume in self.volumes:
            if volume.vm_instance_uuid is not None and volume.vm_instance_uuid not in vms:
                raise ValueError(f"volume {volume.uuid} is attached to unknown VM {volume.vm_instance_uuid}")
        for vm in self.vm_instances:
            roots = [v for v in self.volumes if v.vm_instance_uuid == vm.uuid and v.type == "Root"]
            if len(roots) != 1:
                raise ValueError(f"VM {vm.uuid} must have exactly one Root volume, found {len(roots)}")


def parse_state(document: Any, *, source: str) -> StateData:
    try:
        data = StateData.model_validate(document)
        data.check()
    except (ValidationError, ValueError) as exc:
        raise ValueError(f"invalid simulator data in {source}: {exc}") from None
    return data


def load_seed_file(path: Path, base: StateData) -> StateData:
    """Each top-level key present in the file replaces that part of `base`; absent keys keep it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read seed file {path}: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError(f"seed file {path} must hold a JSON object")
    merged = base.model_dump(by_alias=True)
    merged.update(document)
    return parse_state(merged, source=str(path))


def dump_state(data: StateData) -> str:
    return data.model_dump_json(by_alias=True, indent=1)
