"""VmBackup through the real `python -m pulumi.dynamic` gRPC host, against the ZStack simulator.

Each test drives the calls the engine makes (Configure, Check, Diff, Create, Read, Update, Delete) and checks
what a user would see: check failures, planned replacements, state after refresh, and error messages.
"""

from __future__ import annotations

from typing import Any

import grpc
import httpx
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown
from pulumi_zstack_provider._ownership import OwnerTag, stack_key
from pulumi_zstack_provider.providers import VmBackupSeriesProvider
from zstack_simulator import RunningSimulator, Settings, Simulator, sha512_hex
from zstack_simulator import seed as s
from zstack_simulator.seed import default_seed

from tests.fixtures.provider_process import ProviderCallFailed
from tests.protocol.conftest import (
    PROJECT,
    PROVIDER_KEY,
    URN,
    CreateOutcome,
    DynamicProvider,
    StartProvider,
    simulator_config,
)

pytestmark = [pytest.mark.protocol, pytest.mark.timeout(60)]

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
OWNER_STACK = f"organization/{PROJECT}/stack"
#: What the SDK adds to every declaration: the resource's owner.
OWNER = {"owner_stack": OWNER_STACK, "owner_urn": URN}
INPUTS = {
    "root_volume_uuid": s.RUNNING_VM_ROOT_VOLUME_UUID,
    "backup_storage_uuid": s.IMAGESTORE_BS_UUID,
    "name": "nightly",
    **OWNER,
}
OLD_PROVIDER_BLOB = "gASVKQAAAAAAAACMF3B1bHVtaV96c3RhY2tfcHJvdmlkZXKUjAZPbGRPbmWUk5Qu"


def without_provider(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


def live_members(running: RunningSimulator, group_uuid: str) -> list[dict[str, Any]]:
    return [
        b for b in running.simulator.backups() if b["groupUuid"] == group_uuid and b["status"] != "Deleted"
    ]


def owner_tags(running: RunningSimulator, group_uuid: str) -> list[OwnerTag]:
    """The owner tags on the group's root volume backup."""
    root = next(m for m in live_members(running, group_uuid) if m["type"] == "Root")
    return [tag for tag in map(OwnerTag.parse, root["userTags"]) if tag is not None]


def create_backup(provider: DynamicProvider, **overrides: Any) -> tuple[dict[str, Any], CreateOutcome]:
    """Check then Create, as `pulumi up` does for a new resource; returns the checked inputs too."""
    checked = provider.check({**INPUTS, **overrides})
    assert checked.failures == []
    return checked.inputs, provider.create(checked.inputs)


# ----------------------------------------------------------------------------------------------- Check


def test_check_accepts_valid_inputs_keeps_whole_number_floats_and_calls_no_zstack_api(
    provider: DynamicProvider, simulator: RunningSimulator
) -> None:
    checked = provider.check({**INPUTS, "volume_read_bandwidth": 2048.0, "mode": "full"})

    assert checked.failures == []
    assert without_provider(checked.inputs) == {**INPUTS, "volume_read_bandwidth": 2048, "mode": "full"}
    assert checked.inputs[PROVIDER_KEY] == provider.provider_blob
    assert simulator.simulator.requests() == []


def test_check_names_every_bad_field(provider: DynamicProvider, simulator: RunningSimulator) -> None:
    bad = {
        "root_volume_uuid": "20000000-0000-4000-8000-000000000011",
        "name": "",
        "mode": "incremental",
        "network_write_bandwidth": 2048.5,
        "volume_read_bandwidth": 512,
        "create_timeout": "soon",
        "colour": "blue",
        "backup_name": "mine",
    }

    checked = provider.check({"description": "weekly", **OWNER, **bad})

    assert checked.failed_properties == {*bad, "backup_storage_uuid"}
    for field in checked.failed_properties:
        assert field in checked.reason(field)
    assert "20000000000040008000000000000011" in checked.reason("root_volume_uuid")
    assert "is required" in checked.reason("backup_storage_uuid")
    assert "whole number" in checked.reason("network_write_bandwidth")
    assert "at least 1024" in checked.reason("volume_read_bandwidth")
    assert "computed by ZStack" in checked.reason("backup_name")
    assert simulator.simulator.requests() == []


def test_check_skips_values_unknown_during_preview(
    provider: DynamicProvider, simulator: RunningSimulator
) -> None:
    checked = provider.check({**INPUTS, "root_volume_uuid": UNKNOWN, "name": UNKNOWN, "mode": "often"})

    assert checked.failed_properties == {"mode"}
    assert checked.inputs["backup_storage_uuid"] == s.IMAGESTORE_BS_UUID
    assert isinstance(checked.inputs["root_volume_uuid"], Unknown)
    assert isinstance(checked.inputs["name"], Unknown)
    assert simulator.simulator.requests() == []


def test_check_without_a_host_names_the_config_key_and_the_environment_variable(
    start_provider: StartProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The engine's own environment must not reach the provider through the fixture.
    monkeypatch.setenv("ZSTACK_HOST", "127.0.0.1")
    provider = start_provider()
    provider.configure({"zstack:accountName": s.ADMIN_ACCOUNT_NAME, "zstack:accountPassword": "x"})

    checked = provider.check(INPUTS)

    assert checked.failed_properties == {"zstack:host"}
    assert "zstack:host" in checked.reason("zstack:host")
    assert "ZSTACK_HOST" in checked.reason("zstack:host")


# ----------------------------------------------------------------------------------------------- Diff

STATE_ID = "5a1f0c2e9b8d4c7a8e6f5d4c3b2a1908"
STATE = {
    **INPUTS,
    "group_uuid": STATE_ID,
    "volume_read_bandwidth": 2048,
    "vm_instance_uuid": s.RUNNING_VM_UUID,
    "uuid": "6b2e1d3f0a9c4b8d9f7e6d5c4b3a2918",
    "status": "Ready",
    "backup_name": "nightly-2024-05-01 08:00:00.0",
    "total_size": 42949672960,
}
DECLARED = {k: STATE[k] for k in (*INPUTS, "volume_read_bandwidth")}


def test_diff_is_empty_when_only_the_provider_blob_differs(
    provider: DynamicProvider, simulator: RunningSimulator
) -> None:
    diff = provider.diff(STATE_ID, {**STATE, PROVIDER_KEY: OLD_PROVIDER_BLOB}, DECLARED)

    assert diff.changes == "DIFF_NONE"
    assert diff.replaces == []
    assert simulator.simulator.requests() == []


def test_diff_ignores_outputs_and_numbers_that_come_back_as_floats(provider: DynamicProvider) -> None:
    refreshed = {**STATE, "status": "Creating", "total_size": 1.0, "backup_name": "renamed in ZStack"}

    diff = provider.diff(STATE_ID, refreshed, {**DECLARED, "volume_read_bandwidth": 2048.0})

    assert diff.changes == "DIFF_NONE"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("root_volume_uuid", s.PAUSED_VM_ROOT_VOLUME_UUID),
        ("backup_storage_uuid", s.DISABLED_IMAGESTORE_BS_UUID),
        ("name", "weekly"),
        ("description", "with a description"),
        ("mode", "full"),
        ("volume_read_bandwidth", 4096),
        ("system_tags", ["tag::a"]),
        ("name", UNKNOWN),
    ],
)
def test_diff_replaces_the_backup_when_an_input_changes(
    provider: DynamicProvider, simulator: RunningSimulator, field: str, value: Any
) -> None:
    news = {**DECLARED, field: value}

    diff = provider.diff(STATE_ID, STATE, news)

    assert diff.changes == "DIFF_SOME"
    assert diff.replaces == [field]
    assert not diff.delete_before_replace
    assert simulator.simulator.requests() == []


def test_diff_updates_in_place_when_only_a_setting_changes(provider: DynamicProvider) -> None:
    diff = provider.diff(STATE_ID, STATE, {**DECLARED, "create_timeout": "90m"})

    assert diff.changes == "DIFF_SOME"
    assert diff.replaces == []


# ---------------------------------------------------------------------------------- Create and Read


def test_create_makes_one_ready_group_whose_uuid_is_the_id(
    provider: DynamicProvider, simulator: RunningSimulator
) -> None:
    inputs, created = create_backup(provider, description="before the upgrade")

    props = created.properties
    assert without_provider(inputs).items() <= props.items()
    assert props["group_uuid"] == created.id
    assert created.id.startswith(stack_key(OWNER_STACK)), "the provider chose the id under the stack's key"
    assert props["vm_instance_uuid"] == s.RUNNING_VM_UUID
    assert props["volume_uuid"] == s.RUNNING_VM_ROOT_VOLUME_UUID
    assert props["type"] == "Root"
    assert props["status"] == "Ready"
    assert props["backup_name"].startswith("nightly-")
    member_volumes = [m["volume_uuid"] for m in props["members"]]
    assert member_volumes == [s.RUNNING_VM_ROOT_VOLUME_UUID, *s.RUNNING_VM_DATA_VOLUME_UUIDS]
    assert props["total_size"] == sum(m["size"] for m in props["members"])

    backups = simulator.simulator.backups()
    assert {b["groupUuid"] for b in backups} == {created.id}
    assert sorted(b["volumeUuid"] for b in backups) == sorted(member_volumes)
    assert {b["status"] for b in backups} == {"Ready"}
    assert props["uuid"] in {b["uuid"] for b in backups}
    assert [(t.urn, t.claim) for t in owner_tags(simulator, created.id)] == [(URN, props["owner_claim"])]


def test_read_returns_the_created_state_and_inputs_so_a_refresh_changes_nothing(
    provider: DynamicProvider,
) -> None:
    inputs, created = create_backup(provider, volume_read_bandwidth=2048, create_timeout="90m")

    read = provider.read(created.id, created.properties, inputs)

    assert read.id == created.id
    assert read.properties == created.properties
    assert read.inputs == {**inputs, "group_uuid": created.id}  # what `VmBackup.get` needs to adopt it
    assert provider.diff(read.id, read.properties, read.inputs).changes == "DIFF_NONE"
    assert provider.diff(read.id, read.properties, inputs).changes == "DIFF_NONE", "the next preview"


def test_read_of_a_group_deleted_outside_pulumi_answers_an_empty_id(
    provider: DynamicProvider, simulator: RunningSimulator
) -> None:
    inputs, created = create_backup(provider)
    assert simulator.simulator.delete_backup_group(created.id) == 3

    read = provider.read(created.id, created.properties, inputs)

    assert read.id == ""


def test_read_that_cannot_reach_zstack_fails_instead_of_dropping_the_resource(
    provider: DynamicProvider, simulator: RunningSimulator
) -> None:
    inputs, created = create_backup(provider)
    rule = simulator.simulator.faults.error_503(method="GET", path="/zstack/v1/volume-backups*")

    with pytest.raises(ProviderCallFailed) as failed:
        provider.read(created.id, created.properties, inputs)

    assert failed.value.code is grpc.StatusCode.UNKNOWN
    assert "SYS.1000" in failed.value.details
    simulator.simulator.faults.remove(rule.id)
    assert provider.read(created.id, created.properties, inputs).id == created.id


# ---------------------------------------------------------------------------------- Update and Delete


def test_update_of_a_setting_keeps_every_output_and_calls_no_zstack_api(
    provider: DynamicProvider, simulator: RunningSimulator
) -> None:
    inputs, created = create_backup(provider)
    news = {**inputs, "delete_timeout": "45m"}
    simulator.simulator.clear_requests()

    assert provider.diff(created.id, created.properties, news).replaces == []
    updated = provider.update(created.id, created.properties, news)

    assert updated == {**created.properties, "delete_timeout": "45m"}
    assert simulator.simulator.requests() == []


def test_delete_removes_the_group_and_a_second_delete_succeeds(
    provider: DynamicProvider, simulator: RunningSimulator, start_provider: StartProvider
) -> None:
    _, created = create_backup(provider)
    destroying = start_provider()  # `pulumi destroy`: a provider process of its own
    destroying.configure(simulator_config(simulator))

    destroying.delete(created.id, created.properties)

    assert live_members(simulator, created.id) == []
    destroying.delete(created.id, created.properties)
    assert live_members(simulator, created.id) == []


def test_a_second_create_in_one_run_never_deletes_what_the_first_handed_out(
    provider: DynamicProvider, simulator: RunningSimulator
) -> None:
    # `pulumi up --replace` of an adopted backup: the replacement adopts the same group, then the engine
    # deletes the old resource, in the same provider process.
    _, made = create_backup(provider, owner_urn=URN.replace("::nightly", "::elsewhere"))
    _, adopted = create_backup(provider, group_uuid=made.id)
    _, replacement = create_backup(provider, group_uuid=made.id)

    provider.delete(adopted.id, adopted.properties)

    assert replacement.id == adopted.id == made.id
    assert len(live_members(simulator, made.id)) == 3
    assert [(t.urn, t.claim) for t in owner_tags(simulator, made.id)] == [
        (URN, replacement.properties["owner_claim"])
    ]
    assert "kept, not deleted" in provider.stderr()


# ---------------------------------------------------------------------------------- Failures and secrets

DISTINCT_PASSWORD = "Pr0tocol-Only-Passw0rd-7f3c"


def _login(running: RunningSimulator) -> str:
    with httpx.Client(base_url=running.base_url, timeout=10.0) as client:
        response = client.put(
            "/zstack/v1/accounts/login",
            json={
                "logInByAccount": {
                    "accountName": s.ADMIN_ACCOUNT_NAME,
                    "password": sha512_hex(DISTINCT_PASSWORD),
                }
            },
        )
    assert response.status_code == 200, "login refused"
    session_id: str = response.json()["inventory"]["uuid"]
    return session_id


@pytest.mark.parametrize("auth", ["account", "session", "access_key"])
def test_failed_create_names_the_zstack_code_hides_secrets_and_leaves_nothing(
    start_provider: StartProvider, serve_simulator: Any, auth: str
) -> None:
    seed = default_seed()
    seed.accounts = [seed.accounts[0].model_copy(update={"password": DISTINCT_PASSWORD})]
    running: RunningSimulator = serve_simulator(Simulator(Settings.fast(), seed=seed))
    base = {"zstack:host": running.host, "zstack:port": str(running.port)}
    if auth == "account":
        config = simulator_config(running, account_password=DISTINCT_PASSWORD)
        secrets = [DISTINCT_PASSWORD, sha512_hex(DISTINCT_PASSWORD)]
    elif auth == "session":
        session_id = _login(running)
        config = {**base, "zstack:sessionId": session_id}
        secrets = [session_id]
    else:
        config = {
            **base,
            "zstack:accessKeyId": s.ACCESS_KEY_ID,
            "zstack:accessKeySecret": s.ACCESS_KEY_SECRET,
        }
        secrets = [s.ACCESS_KEY_SECRET]
    provider = start_provider()
    provider.configure(config)
    checked = provider.check({**INPUTS, "root_volume_uuid": s.STOPPED_VM_ROOT_VOLUME_UUID})
    assert checked.failures == []

    with pytest.raises(ProviderCallFailed) as failed:
        provider.create(checked.inputs)

    assert "SYS.1006" in failed.value.details
    assert s.STOPPED_VM_UUID in failed.value.details  # ZStack's reason reaches the user
    logs = provider.stderr()
    for secret in secrets:
        assert secret not in failed.value.details
        assert secret not in logs
    assert running.simulator.backups() == []


# ---------------------------------------------------------------------------------- VmBackupSeries

SERIES_URN = URN.replace(":VmBackup::nightly", ":VmBackupSeries::pre-release")
SERIES_INPUTS = {
    "root_volume_uuid": s.RUNNING_VM_ROOT_VOLUME_UUID,
    "backup_storage_uuid": s.IMAGESTORE_BS_UUID,
    "name": "pre-release",
    "keep": 1,
    "triggers": ["1.0"],
    "max_poll_interval": "0.2s",
    "owner_stack": OWNER_STACK,
    "owner_urn": SERIES_URN,
}


def series_provider(start_provider: StartProvider, running: RunningSimulator) -> DynamicProvider:
    """A provider process of one `pulumi up` for VmBackupSeries resources."""
    started = start_provider()
    started.provider_blob = serialize_provider(VmBackupSeriesProvider())
    started.configure(simulator_config(running))
    return started


def test_a_series_prune_that_fails_keeps_the_new_backup_and_the_next_up_finishes_it(
    start_provider: StartProvider, simulator: RunningSimulator
) -> None:
    first_run = series_provider(start_provider, simulator)
    created = first_run.create(first_run.check(SERIES_INPUTS).inputs)
    (oldest,) = created.properties["group_uuids"]
    released = series_provider(start_provider, simulator)
    news = released.check({**SERIES_INPUTS, "triggers": ["1.1"]}).inputs
    assert released.diff(created.id, created.properties, news).replaces == []
    refused = simulator.simulator.faults.fail_member_delete()

    updated = released.update(created.id, created.properties, news)

    newest = updated["latest_group_uuid"]
    assert updated["group_uuids"] == [newest] != [oldest], "the release's backup reached the state"
    assert updated["prune_pending"] == [oldest]
    assert f"backup group {oldest} could not be deleted" in released.stderr()
    assert {b["groupUuid"] for b in simulator.simulator.backups() if b["status"] != "Deleted"} == {
        oldest,
        newest,
    }

    simulator.simulator.faults.remove(refused.id)
    next_run = series_provider(start_provider, simulator)
    assert next_run.diff(created.id, updated, news).changes == "DIFF_SOME", "a preview shows the prune to do"
    finished = next_run.update(created.id, updated, news)

    assert finished.get("prune_pending") is None
    assert finished["group_uuids"] == [newest]
    assert live_members(simulator, oldest) == []
    assert next_run.diff(created.id, finished, news).changes == "DIFF_NONE"
