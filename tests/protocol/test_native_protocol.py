"""VmBackup through the native plugin (`python -m pulumi_zstack_provider.native`), against the simulator.

Each test drives the calls the engine makes, with the schema's names, and checks what a user would see:
check failures, planned changes, state after refresh and import, errors, and ZStack under the ownership
model (`tests/fixtures/ownership.py`) after each step.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2
from pulumi_zstack_provider import ConnectionSettings, ZStackClient
from pulumi_zstack_provider._orphans import BACKUP_GROUP, find_stack_orphans
from pulumi_zstack_provider._ownership import OwnerTag
from pulumi_zstack_provider._resource import OperationContext
from pulumi_zstack_provider._schema import ResourceModel, wire_name
from pulumi_zstack_provider._vm_backup import VmBackupProperties
from pulumi_zstack_provider._vm_backup_series import VmBackupSeriesProperties
from zstack_simulator import RunningSimulator
from zstack_simulator import seed as s

from tests.fixtures.native import (
    PROJECT,
    SECRET_CONFIG,
    STACK,
    UNKNOWN,
    VM_BACKUP,
    VM_BACKUP_SERIES,
    Created,
    NativeProvider,
    StartNative,
    native_config,
    urn,
)
from tests.fixtures.ownership import Ownership, assert_ownership, live_groups_of
from tests.fixtures.provider_process import ProviderCallFailed

pytestmark = [pytest.mark.protocol, pytest.mark.timeout(120)]

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "provider" / "pulumi_zstack_provider" / "schema.json"
VM_FROM_BACKUP = "zstack:index:VmFromBackup"
VM_BACKUP_SCHEDULE = "zstack:index:VmBackupSchedule"
OWNER_STACK = f"organization/{PROJECT}/{STACK}"
INPUTS = {
    "rootVolumeUuid": s.RUNNING_VM_ROOT_VOLUME_UUID,
    "backupStorageUuid": s.IMAGESTORE_BS_UUID,
    "name": "nightly",
}


def model_names(props: Mapping[str, Any], model: type[ResourceModel] = VmBackupProperties) -> dict[str, Any]:
    """What the engine keeps, under the models' names (as the dynamic door's state has them)."""
    names = {wire_name(spec.name): spec.name for spec in model.properties()}
    return {names.get(k, k): v for k, v in props.items()}


@contextmanager
def zstack(running: RunningSimulator) -> Iterator[OperationContext]:
    config = {
        "zstack:host": running.host,
        "zstack:port": str(running.port),
        "zstack:accountName": s.ADMIN_ACCOUNT_NAME,
        "zstack:accountPassword": s.ADMIN_PASSWORD,
    }
    with ZStackClient(ConnectionSettings.resolve(config, {})) as client:
        yield OperationContext(client)


def check_ownership(running: RunningSimulator, state: Mapping[str, Created]) -> Ownership:
    """The ownership model over a stack whose state holds `state` (resource name -> what the engine keeps)."""
    deployment = {
        "resources": [{"type": VM_BACKUP, "id": c.id, "outputs": c.properties} for c in state.values()]
    }
    with zstack(running) as ctx:
        orphans = {
            o.uuid: o.as_json()
            for o in find_stack_orphans(ctx, OWNER_STACK, deployment)
            if o.kind == BACKUP_GROUP
        }
    return assert_ownership(
        {urn(name): model_names(c.properties) for name, c in state.items()},
        {urn(name): c.id for name, c in state.items()},
        {},
        live_groups_of(running.simulator),
        orphans,
    )


def owner_tags(running: RunningSimulator, group_uuid: str) -> list[OwnerTag]:
    (root,) = [
        b
        for b in running.simulator.backups()
        if b["groupUuid"] == group_uuid and b["type"] == "Root" and b["status"] != "Deleted"
    ]
    return [tag for tag in map(OwnerTag.parse, root["userTags"]) if tag is not None]


def create(native: NativeProvider, name: str = "nightly", **overrides: Any) -> Created:
    """Check then Create, as `pulumi up` does for a new resource."""
    checked = native.check({**INPUTS, **overrides}, name=name)
    assert checked.failures == []
    return native.create(checked.inputs, name=name)


def untagged_group(running: RunningSimulator) -> str:
    """A backup group made outside Pulumi (no owner tag): what `pulumi import` takes over."""
    group_uuid = uuid.uuid4().hex
    with zstack(running) as ctx:
        ctx.run_job(
            "POST",
            f"/volumes/{s.RUNNING_VM_ROOT_VOLUME_UUID}/vm-backups",
            body={
                "params": {
                    "backupStorageUuid": s.IMAGESTORE_BS_UUID,
                    "name": "manual",
                    "resourceUuid": group_uuid,
                }
            },
            deadline=time.monotonic() + 30,
            operation="a backup made by hand",
        )
    return group_uuid


# ------------------------------------------------------------------------------------------- the plugin


def test_the_plugin_reports_the_package_version_and_serves_the_committed_schema(
    start_native: StartNative,
) -> None:
    plugin = start_native()

    assert plugin.plugin_version() == version("pulumi-zstack")
    served = json.loads(plugin.get_schema())
    assert served == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    backup = served["resources"][VM_BACKUP]
    assert backup["requiredInputs"] == ["backupStorageUuid", "name", "rootVolumeUuid"]
    assert "ownerUrn" not in backup["inputProperties"]
    assert served["config"]["variables"]["accountPassword"]["secret"] is True


# ------------------------------------------------------------------------------------------- lifecycle


def test_a_backup_is_previewed_made_refreshed_updated_and_deleted_under_the_ownership_model(
    start_native: StartNative, simulator: RunningSimulator
) -> None:
    native = start_native()
    native.configure(native_config(simulator), secret_keys=SECRET_CONFIG)
    checked = native.check(INPUTS)
    assert checked.failures == []
    assert checked.inputs == INPUTS  # no owner inputs: the plugin takes them from the URN

    preview = native.create(checked.inputs, preview=True)
    assert preview.id == ""
    assert isinstance(preview.properties["groupUuid"], Unknown)
    assert isinstance(preview.properties["status"], Unknown)
    assert live_groups_of(simulator.simulator) == {}, "a preview made a backup"

    made = native.create(checked.inputs)
    assert made.properties["groupUuid"] == made.id
    assert made.properties["status"] == "Ready"
    assert made.properties["ownerUrn"] == urn("nightly")
    assert made.properties["ownerStack"] == OWNER_STACK
    (tag,) = owner_tags(simulator, made.id)
    assert (tag.urn, tag.claim) == (urn("nightly"), made.properties["ownerClaim"])
    check_ownership(simulator, {"nightly": made})

    unchanged = native.diff(made.id, made.properties, checked.inputs)
    assert (unchanged.changes, unchanged.replaces) == ("DIFF_NONE", [])

    refreshed = native.read(made.id, made.properties, checked.inputs)
    assert refreshed.id == made.id
    assert refreshed.inputs == {**INPUTS, "groupUuid": made.id}
    assert refreshed.properties["ownerClaim"] == made.properties["ownerClaim"]
    assert native.diff(made.id, refreshed.properties, checked.inputs).changes == "DIFF_NONE"

    slower = native.check({**INPUTS, "createTimeout": "90m"}).inputs
    settings_only = native.diff(made.id, made.properties, slower)
    assert (settings_only.changes, settings_only.replaces) == ("DIFF_SOME", [])
    assert settings_only.detailed == {"createTimeout": "UPDATE"}
    updated = native.update(made.id, made.properties, slower)
    assert updated["createTimeout"] == "90m"
    assert updated["ownerClaim"] == made.properties["ownerClaim"]
    check_ownership(simulator, {"nightly": Created(made.id, updated)})

    renamed = native.check({**INPUTS, "createTimeout": "90m", "name": "weekly"}).inputs
    replacing = native.diff(made.id, updated, renamed)
    assert (replacing.changes, replacing.replaces) == ("DIFF_SOME", ["name"])
    assert replacing.detailed == {"name": "UPDATE_REPLACE"}
    assert replacing.delete_before_replace is False

    destroy = start_native()  # `pulumi destroy`, a later run
    destroy.configure(native_config(simulator), secret_keys=SECRET_CONFIG)
    destroy.delete(made.id, updated)
    assert live_groups_of(simulator.simulator) == {}
    check_ownership(simulator, {})


def test_check_reports_bad_inputs_by_their_schema_names_and_refuses_owner_inputs(
    native: NativeProvider,
) -> None:
    checked = native.check(
        {
            **INPUTS,
            "backupStorageUuid": "not-a-uuid",
            "volumeReadBandwidth": 10.0,
            "ownerUrn": "urn:pulumi:dev::proto::zstack:index:VmBackup::someone-else",
        }
    )

    assert checked.failed_properties == {"backupStorageUuid", "volumeReadBandwidth", "ownerUrn"}
    assert "ZStack UUID" in checked.reason("backupStorageUuid")
    assert "from the resource's URN" in checked.reason("ownerUrn")


def test_a_create_that_timed_out_is_resumed_by_the_next_one_not_duplicated(
    native: NativeProvider, simulator: RunningSimulator
) -> None:
    simulator.simulator.settings.job_polls = None
    simulator.simulator.settings.job_seconds = 3.0
    with pytest.raises(ProviderCallFailed) as timed_out:
        create(native, createTimeout="1s")
    assert "`createTimeout`" in timed_out.value.details  # the schema's name of the setting to raise
    (attempt,) = live_groups_of(simulator.simulator)
    assert owner_tags(simulator, attempt) == []

    again = create(native)

    assert again.id == attempt
    progress = [line for line in native.engine_log() if attempt in line.message]
    assert progress, "no progress line reached the engine"
    assert {line.urn for line in progress} == {urn("nightly")}
    posts = [job for job in simulator.simulator.jobs() if job["api"] == "CreateVmBackup"]
    assert len(posts) == 1
    check_ownership(simulator, {"nightly": again})


def test_a_failed_copy_fails_the_create_and_hands_the_backup_to_the_engine(
    native: NativeProvider, simulator: RunningSimulator
) -> None:
    """As through the dynamic door: the engine keeps the group (ErrorResourceInitFailed), fails the `up`, and
    the next `up` makes the copy in an update, in the same group."""
    from pulumi.runtime.proto import status_pb2  # google.rpc.Status, as Pulumi ships it

    fault = simulator.simulator.faults.fail_job(method="PUT", path="/zstack/v1/vm-backups/*/actions", count=1)
    copies: dict[str, Any] = {"copyToBackupStorageUuids": [s.REMOTE_IMAGESTORE_BS_UUID]}
    with pytest.raises(ProviderCallFailed) as failed:
        create(native, **copies)
    assert fault.fired == 1

    (group,) = live_groups_of(simulator.simulator)
    assert group in failed.value.details
    assert failed.value.status is not None, "no ErrorResourceInitFailed reached the engine"
    status = status_pb2.Status.FromString(failed.value.status)
    kept = provider_pb2.ErrorResourceInitFailed()
    assert status.details[0].Unpack(kept)
    assert kept.id == group
    recorded = json_format.MessageToDict(kept.properties)
    assert recorded["groupUuid"] == group
    assert recorded["copyPending"] == [s.REMOTE_IMAGESTORE_BS_UUID]

    news = native.check({**INPUTS, **copies}).inputs
    assert native.diff(group, recorded, news).changes == "DIFF_SOME", "the copy left to make is an update"
    updated = native.update(group, recorded, news)

    assert not updated.get("copyPending")
    assert sorted(updated["backupStorageUuids"]) == [s.IMAGESTORE_BS_UUID, s.REMOTE_IMAGESTORE_BS_UUID]
    assert list(live_groups_of(simulator.simulator)) == [group], "the copy went into the same group"


def test_two_resources_with_the_same_inputs_never_share_a_group(
    native: NativeProvider, simulator: RunningSimulator
) -> None:
    first = create(native, name="nightly")
    second = create(native, name="nightly-copy")

    assert first.id != second.id
    assert [t.urn for t in owner_tags(simulator, second.id)] == [urn("nightly-copy")]
    check_ownership(simulator, {"nightly": first, "nightly-copy": second})


def test_a_series_takes_a_new_backup_in_an_update_when_its_triggers_change(
    native: NativeProvider, simulator: RunningSimulator
) -> None:
    series_inputs = {**INPUTS, "keep": 2.0, "triggers": ["1.0"]}
    checked = native.check(series_inputs, kind=VM_BACKUP_SERIES)
    assert checked.failures == []
    made = native.create(checked.inputs, kind=VM_BACKUP_SERIES)
    assert len(made.properties["groupUuids"]) == 1

    release = native.check({**series_inputs, "triggers": ["1.1"]}, kind=VM_BACKUP_SERIES).inputs
    planned = native.diff(made.id, made.properties, release, kind=VM_BACKUP_SERIES)
    assert (planned.changes, planned.replaces) == ("DIFF_SOME", [])
    assert planned.detailed == {"triggers": "UPDATE"}
    updated = native.update(made.id, made.properties, release, kind=VM_BACKUP_SERIES)

    kept = updated["groupUuids"]
    assert len(kept) == 2
    assert kept[1] == made.properties["groupUuids"][0]
    assert updated["ownerUrn"] == urn("nightly", VM_BACKUP_SERIES)
    series = {urn("nightly", VM_BACKUP_SERIES): model_names(updated, VmBackupSeriesProperties)}
    with zstack(simulator) as ctx:
        deployment = {"resources": [{"type": VM_BACKUP_SERIES, "id": made.id, "outputs": updated}]}
        orphans = {o.uuid: o.as_json() for o in find_stack_orphans(ctx, OWNER_STACK, deployment)}
    assert_ownership({}, {}, series, live_groups_of(simulator.simulator), orphans)


def test_every_create_update_and_read_fills_what_the_schema_requires_of_each_resource(
    native: NativeProvider,
) -> None:
    """The SDKs type the schema's `required` outputs as never absent (a Go `StringOutput`, not a pointer)."""
    required = {
        token: spec["required"] for token, spec in json.loads(SCHEMA_FILE.read_text())["resources"].items()
    }
    seen: list[str] = []

    def lifecycle(kind: str, inputs: Mapping[str, Any], change: Mapping[str, Any] | None = None) -> Created:
        checked = native.check(inputs, kind=kind)
        assert checked.failures == []
        made = native.create(checked.inputs, kind=kind)
        states = {"create": made.properties}
        states["read"] = native.read(made.id, made.properties, checked.inputs, kind=kind).properties
        if change is not None:
            changed = native.check({**inputs, **change}, kind=kind).inputs
            states["update"] = native.update(made.id, made.properties, changed, kind=kind)
        for operation, state in states.items():
            absent = [name for name in required[kind] if state.get(name) is None]
            assert absent == [], f"{kind} {operation} left out required outputs {absent}"
        seen.append(kind)
        return made

    backup = lifecycle(VM_BACKUP, INPUTS)
    lifecycle(VM_BACKUP_SERIES, {**INPUTS, "keep": 1.0, "triggers": ["1.0"]}, {"triggers": ["1.1"]})
    # JustCreate: ZStack makes the volumes and NICs only at the first start, the sparsest VM a read sees.
    restore = {
        "groupUuid": backup.id,
        "name": "drill",
        "instanceOfferingUuid": s.INSTANCE_OFFERING_UUID,
        "l3NetworkUuids": [s.ISOLATED_L3_NETWORK_UUID],
    }
    lifecycle(VM_FROM_BACKUP, {**restore, "strategy": "JustCreate"})
    schedule = {
        "rootVolumeUuid": s.RUNNING_VM_ROOT_VOLUME_UUID,
        "backupStorageUuids": [s.IMAGESTORE_BS_UUID],
        "name": "nightly",
        "cron": "0 0 2 * * ?",
        "retentionCount": 3.0,
    }
    lifecycle(VM_BACKUP_SCHEDULE, schedule, {"name": "weekly"})
    assert sorted(seen) == sorted(required)


def test_progress_and_warnings_name_properties_as_the_schema_does(
    native: NativeProvider, simulator: RunningSimulator
) -> None:
    group_uuid = untagged_group(simulator)
    adopted = create(native, groupUuid=group_uuid)

    # `pulumi up --replace` of an adopted backup: the engine makes the resource again, ZStack keeps the group.
    again = create(native, groupUuid=group_uuid)

    assert again.id == adopted.id == group_uuid
    (line,) = [line for line in native.engine_log() if "keeps the adopted backup group" in line.message]
    assert "(set by `groupUuid`)" in line.message
    assert "unset `groupUuid`" in line.message
    assert "group_uuid" not in line.message
    assert line.urn == urn("nightly")


# -------------------------------------------------------------------------------------------- import


def test_import_by_id_reads_inputs_that_check_and_diff_find_unchanged(
    native: NativeProvider, simulator: RunningSimulator
) -> None:
    group_uuid = untagged_group(simulator)

    imported = native.read(group_uuid)  # `pulumi import zstack:index:VmBackup nightly <group uuid>`

    assert imported.id == group_uuid
    assert imported.inputs == {**INPUTS, "name": "manual"}  # no groupUuid: a replacement makes a new backup
    assert owner_tags(simulator, group_uuid) == [], "a read wrote to ZStack"
    assert imported.properties.get("ownerClaim") is None
    checked = native.check(imported.inputs, imported.inputs)
    assert checked.failures == []
    assert native.diff(group_uuid, imported.properties, checked.inputs).changes == "DIFF_NONE"
    state = {"nightly": Created(group_uuid, imported.properties)}
    check_ownership(simulator, state)

    native.delete(group_uuid, imported.properties)
    assert live_groups_of(simulator.simulator) == {}


def test_import_of_a_group_this_resource_already_holds_takes_back_its_claim(
    native: NativeProvider, simulator: RunningSimulator
) -> None:
    made = create(native)
    # `pulumi state delete`, then `pulumi import` under the same name: the group is this resource's.

    imported = native.read(made.id)

    assert imported.properties["ownerClaim"] == made.properties["ownerClaim"]
    checked = native.check(imported.inputs, imported.inputs)
    assert native.diff(made.id, imported.properties, checked.inputs).changes == "DIFF_NONE"
    check_ownership(simulator, {"nightly": Created(made.id, imported.properties)})


def test_import_of_a_group_another_resource_holds_is_refused_naming_the_owner(
    native: NativeProvider, simulator: RunningSimulator
) -> None:
    made = create(native, name="nightly")
    tags_before = owner_tags(simulator, made.id)

    with pytest.raises(ProviderCallFailed) as refused:
        native.read(made.id, name="stolen")

    assert urn("nightly") in refused.value.details
    assert "groupUuid" in refused.value.details  # what to do to move it
    assert refused.value.details.startswith(f"VmBackup {made.id} belongs to ")  # the message alone
    assert "File " not in refused.value.details
    assert owner_tags(simulator, made.id) == tags_before
    check_ownership(simulator, {"nightly": made})


# ------------------------------------------------------------------------------------------- unknowns


def test_inputs_unknown_at_preview_are_not_judged_and_show_as_possible_changes(
    native: NativeProvider, simulator: RunningSimulator
) -> None:
    checked = native.check({**INPUTS, "rootVolumeUuid": UNKNOWN, "triggers": [UNKNOWN]})
    assert checked.failures == []
    assert isinstance(checked.inputs["rootVolumeUuid"], Unknown)

    preview = native.create({**INPUTS, "rootVolumeUuid": UNKNOWN}, preview=True)
    assert isinstance(preview.properties["rootVolumeUuid"], Unknown)
    assert isinstance(preview.properties["members"], Unknown)

    made = create(native)
    may_change = native.diff(made.id, made.properties, {**INPUTS, "name": UNKNOWN})
    assert (may_change.changes, may_change.replaces) == ("DIFF_SOME", ["name"])
    assert may_change.detailed == {"name": "UPDATE_REPLACE"}
    settings_unknown = native.diff(made.id, made.properties, {**INPUTS, "deleteTimeout": UNKNOWN})
    assert (settings_unknown.changes, settings_unknown.replaces) == ("DIFF_SOME", [])
    check_ownership(simulator, {"nightly": made})


# -------------------------------------------------------------------------------------------- secrets


def test_secret_inputs_stay_secret_and_the_password_reaches_no_log_or_error(
    start_native: StartNative, simulator: RunningSimulator
) -> None:
    plugin = start_native()
    plugin.configure(native_config(simulator), secret_keys=SECRET_CONFIG)

    checked = plugin.check({**INPUTS, "description": rpc.wrap_rpc_secret("vault key 42")})
    assert rpc.is_rpc_secret(checked.inputs["description"])
    made = plugin.create(checked.inputs)
    assert rpc.is_rpc_secret(made.properties["description"])
    assert rpc.unwrap_rpc_secret(made.properties["description"]) == "vault key 42"
    assert not rpc.is_rpc_secret(made.properties["name"])

    wrong = start_native()
    wrong.configure(
        {**native_config(simulator), "accountPassword": "wrong-password-1"}, secret_keys=SECRET_CONFIG
    )
    with pytest.raises(ProviderCallFailed) as failed:
        wrong.create(INPUTS)
    for plugin_used, password in ((plugin, s.ADMIN_PASSWORD), (wrong, "wrong-password-1")):
        assert password not in plugin_used.stderr()
        assert not [line for line in plugin_used.engine_log() if password in line.message]
    assert "wrong-password-1" not in failed.value.details


def test_a_missing_host_fails_check_naming_the_config_key_and_the_variable(
    start_native: StartNative,
) -> None:
    plugin = start_native()
    plugin.configure({"accountName": "admin", "accountPassword": "x"}, secret_keys=SECRET_CONFIG)

    checked = plugin.check(INPUTS)

    assert "zstack:host" in checked.reason("zstack:host")
    assert "ZSTACK_HOST" in checked.reason("zstack:host")


def test_settings_come_from_zstack_variables_when_the_config_has_none(
    start_native: StartNative, simulator: RunningSimulator
) -> None:
    plugin = start_native(
        {
            "ZSTACK_HOST": simulator.host,
            "ZSTACK_PORT": str(simulator.port),
            "ZSTACK_ACCOUNT_NAME": s.ADMIN_ACCOUNT_NAME,
            "ZSTACK_ACCOUNT_PASSWORD": s.ADMIN_PASSWORD,
        }
    )
    plugin.configure({})

    made = create(plugin)

    assert made.properties["status"] == "Ready"


# ----------------------------------------------------------------------------------------- concurrency


def most_in_flight(jobs: list[dict[str, Any]]) -> int:
    """The largest number of jobs that were running at the same moment."""
    # At equal times an end sorts before a start: a job seen done as another is submitted did not overlap.
    events = sorted([(job["doneAt"], -1) for job in jobs] + [(job["submittedAt"], 1) for job in jobs])
    running = most = 0
    for _, change in events:
        running += change
        most = max(most, running)
    return most


@pytest.mark.timeout(300)
def test_a_hundred_creates_run_side_by_side(start_native: StartNative, simulator: RunningSimulator) -> None:
    count = 100
    simulator.simulator.settings.job_polls = None
    simulator.simulator.settings.job_seconds = 20.0
    plugin = start_native()
    plugin.configure(
        {**native_config(simulator), "maxConcurrentOperations": float(count)}, secret_keys=SECRET_CONFIG
    )

    with ThreadPoolExecutor(max_workers=count) as engine:
        made = list(
            engine.map(
                lambda i: plugin.create({**INPUTS, "name": f"fleet-{i}"}, name=f"vm-{i}"), range(count)
            )
        )

    assert len({c.id for c in made}) == count
    jobs = [job for job in simulator.simulator.jobs() if job["api"] == "CreateVmBackup"]
    assert len(jobs) == count
    assert most_in_flight(jobs) == count
