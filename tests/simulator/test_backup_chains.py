"""Incremental backup chains: which backup a new auto backup builds on, and what each kind of delete does
to the backups that build on the deleted one (ZStack's doDeleteVolumeBackup, with and without
handleDependency)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from zstack_simulator import RunningSimulator, Settings, Simulator
from zstack_simulator import seed as s

from tests.simulator._support import create_and_wait, group_members, login, poll, query

pytestmark = pytest.mark.integration

VOLUMES = (s.RUNNING_VM_ROOT_VOLUME_UUID, *s.RUNNING_VM_DATA_VOLUME_UUIDS)


def _backup(client: httpx.Client, headers: dict[str, str], **params: str) -> str:
    group = uuid.uuid4().hex
    result = create_and_wait(client, headers, resourceUuid=group, **params)
    assert result.status_code == 200, result.text
    return group


def _delete(client: httpx.Client, headers: dict[str, str], path: str, **params: str) -> None:
    submitted = client.delete(f"/zstack/v1/{path}", headers=headers, params=params)
    assert submitted.status_code == 202, submitted.text
    result = poll(client, submitted.json()["location"])
    assert (result.status_code, result.json()) == (200, {})


def _records(client: httpx.Client) -> dict[str, dict[str, Any]]:
    """Every record the simulator holds, from its admin API: what the storage really has."""
    response = client.get("/_simulator/backups")
    assert response.status_code == 200
    return {b["uuid"]: b for b in response.json()}


def _member(client: httpx.Client, group: str, volume: str) -> dict[str, Any]:
    return next(b for b in _records(client).values() if b["groupUuid"] == group and b["volumeUuid"] == volume)


def _namespace(backup: dict[str, Any]) -> str:
    (ref,) = backup["backupStorageRefs"]
    path: str = ref["installPath"]
    assert path.startswith("zstore://")
    return path.removeprefix("zstore://").split("/")[0]


def _chain(client: httpx.Client, count: int) -> list[str]:
    """Backs up web-01 `count` times with auto backups; the group uuids, oldest first."""
    headers = login(client)
    return [_backup(client, headers) for _ in range(count)]


def _group_states(client: httpx.Client, group: str) -> set[tuple[str, bool]]:
    return {(b["status"], b["restorable"]) for b in _records(client).values() if b["groupUuid"] == group}


# ---------------------------------------------------------------------------------------------- taking


def test_each_auto_backup_builds_on_the_previous_backup_of_the_same_volume(
    simulator_client: httpx.Client,
) -> None:
    first, second, third = _chain(simulator_client, 3)
    for volume in VOLUMES:
        base, middle, top = (_member(simulator_client, g, volume) for g in (first, second, third))
        assert (base["parentUuid"], middle["parentUuid"], top["parentUuid"]) == (
            None,
            base["uuid"],
            middle["uuid"],
        )
        assert {b["mode"] for b in (base, middle, top)} == {"auto"}
        assert _namespace(base) == _namespace(middle) == _namespace(top)
        assert [b["restorable"] for b in (base, middle, top)] == [True, True, True]
    namespaces = {_namespace(_member(simulator_client, first, v)) for v in VOLUMES}
    assert len(namespaces) == len(VOLUMES), "every volume has a chain of its own"


def test_a_full_backup_starts_a_new_chain_that_later_auto_backups_extend(
    simulator_client: httpx.Client,
) -> None:
    headers = login(simulator_client)
    auto = _backup(simulator_client, headers)
    full = _backup(simulator_client, headers, mode="full")
    after = _backup(simulator_client, headers)
    root = s.RUNNING_VM_ROOT_VOLUME_UUID
    full_root, after_root = _member(simulator_client, full, root), _member(simulator_client, after, root)
    assert (full_root["mode"], full_root["parentUuid"]) == ("full", None)
    assert _namespace(full_root) != _namespace(_member(simulator_client, auto, root))
    assert (after_root["mode"], after_root["parentUuid"]) == ("auto", full_root["uuid"])


def test_a_chain_at_the_configured_limit_makes_the_next_backup_full(simulator_client: httpx.Client) -> None:
    patched = simulator_client.patch("/_simulator/settings", json={"maxIncrementalBackup": 3})
    assert patched.json()["maxIncrementalBackup"] == 3
    groups = _chain(simulator_client, 5)
    roots = [_member(simulator_client, g, s.RUNNING_VM_ROOT_VOLUME_UUID) for g in groups]
    assert [r["mode"] for r in roots] == ["auto", "auto", "auto", "full", "auto"]
    assert [r["parentUuid"] for r in roots] == [
        None,
        roots[0]["uuid"],
        roots[1]["uuid"],
        None,
        roots[3]["uuid"],
    ]
    assert {_member(simulator_client, groups[3], v)["mode"] for v in VOLUMES} == {"full"}


@pytest.mark.parametrize("limit", [0, 65])
def test_the_chain_limit_is_one_of_zstacks_allowed_values(simulator_client: httpx.Client, limit: int) -> None:
    refused = simulator_client.patch("/_simulator/settings", json={"maxIncrementalBackup": limit})
    assert refused.status_code == 400
    assert simulator_client.get("/_simulator/settings").json()["maxIncrementalBackup"] == 64


def test_a_backup_on_another_storage_starts_new_chains_on_both(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    # ZStack remembers one last backup per volume, and extends it only on the storage it is on.
    simulator.simulator.update_backup_storage(s.DISABLED_IMAGESTORE_BS_UUID, {"state": "Enabled"})
    headers = login(simulator_client)
    here = _backup(simulator_client, headers)
    there = _backup(simulator_client, headers, backupStorageUuid=s.DISABLED_IMAGESTORE_BS_UUID)
    back = _backup(simulator_client, headers)
    root = s.RUNNING_VM_ROOT_VOLUME_UUID
    assert [_member(simulator_client, g, root)["parentUuid"] for g in (here, there, back)] == [None] * 3
    assert _member(simulator_client, back, root)["mode"] == "auto"


def test_after_a_failed_backup_the_next_one_starts_new_chains(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    _backup(simulator_client, headers)
    simulator.simulator.faults.fail_job(method="POST", count=1)
    assert create_and_wait(simulator_client, headers).status_code == 503
    after = _backup(simulator_client, headers)
    assert {_member(simulator_client, after, v)["parentUuid"] for v in VOLUMES} == {None}


def test_after_the_last_backup_is_deleted_the_next_one_starts_new_chains(
    simulator_client: httpx.Client,
) -> None:
    headers = login(simulator_client)
    first, second = _chain(simulator_client, 2)
    _delete(simulator_client, headers, f"vm-backups/{second}", handleDependency="true")
    after = _backup(simulator_client, headers)
    assert {_member(simulator_client, after, v)["parentUuid"] for v in VOLUMES} == {None}
    assert _group_states(simulator_client, first) == {("Ready", True)}


def test_a_restarted_simulator_goes_on_extending_the_chains(serve_simulator: Any, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with httpx.Client(
        base_url=serve_simulator(Simulator(Settings.fast(), state_file=state)).base_url
    ) as client:
        (before,) = _chain(client, 1)
    with httpx.Client(
        base_url=serve_simulator(Simulator(Settings.fast(), state_file=state)).base_url
    ) as client:
        (after,) = _chain(client, 1)
        root = s.RUNNING_VM_ROOT_VOLUME_UUID
        assert _member(client, after, root)["parentUuid"] == _member(client, before, root)["uuid"]


# ---------------------------------------------------------------------------------------------- deleting


def test_deleting_a_backup_others_build_on_without_handle_dependency_breaks_them(
    simulator_client: httpx.Client,
) -> None:
    headers = login(simulator_client)
    first, second, third = _chain(simulator_client, 3)
    _delete(simulator_client, headers, f"vm-backups/{first}")
    assert group_members(simulator_client, headers, first) == []
    # Still listed as Ready, but the bits they build on are gone.
    assert (
        _group_states(simulator_client, second)
        == _group_states(simulator_client, third)
        == {("Ready", False)}
    )


def test_handle_dependency_keeps_the_bits_of_the_oldest_backup_and_marks_it_deleted(
    simulator_client: httpx.Client,
) -> None:
    headers = login(simulator_client)
    first, second, third = _chain(simulator_client, 3)
    _delete(simulator_client, headers, f"vm-backups/{first}", handleDependency="true")
    left = group_members(simulator_client, headers, first)
    assert len(left) == 3, "soft-deleted backups stay visible to queries"
    assert {m["status"] for m in left} == {"Deleted"}
    assert {r["status"] for m in left for r in m["backupStorageRefs"]} == {"Deleted"}
    deleted = query(simulator_client, headers, "volume-backups", "status=Deleted")["inventories"]
    assert {m["uuid"] for m in deleted} == {m["uuid"] for m in left}
    assert (
        _group_states(simulator_client, second) == _group_states(simulator_client, third) == {("Ready", True)}
    )


def test_handle_dependency_on_a_middle_backup_marks_it_deleted(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    first, second, third = _chain(simulator_client, 3)
    _delete(simulator_client, headers, f"vm-backups/{second}", handleDependency="true")
    assert _group_states(simulator_client, second) == {("Deleted", True)}
    assert (
        _group_states(simulator_client, first) == _group_states(simulator_client, third) == {("Ready", True)}
    )


def test_the_top_of_a_chain_is_deleted_outright_with_handle_dependency(
    simulator_client: httpx.Client,
) -> None:
    headers = login(simulator_client)
    first, second, third = _chain(simulator_client, 3)
    _delete(simulator_client, headers, f"vm-backups/{third}", handleDependency="true")
    assert group_members(simulator_client, headers, third) == []
    assert (
        _group_states(simulator_client, first) == _group_states(simulator_client, second) == {("Ready", True)}
    )


def test_deleting_the_last_live_backup_of_a_chain_purges_the_soft_deleted_ones(
    simulator_client: httpx.Client,
) -> None:
    headers = login(simulator_client)
    first, second, third = _chain(simulator_client, 3)
    for group in (first, second):
        _delete(simulator_client, headers, f"vm-backups/{group}", handleDependency="true")
    assert (
        _group_states(simulator_client, first)
        == _group_states(simulator_client, second)
        == {("Deleted", True)}
    )
    _delete(simulator_client, headers, f"vm-backups/{third}", handleDependency="true")
    assert _records(simulator_client) == {}


def test_an_older_live_backup_is_purged_with_the_soft_deleted_ones_it_held_up(
    simulator_client: httpx.Client,
) -> None:
    headers = login(simulator_client)
    first, second = _chain(simulator_client, 2)
    _delete(simulator_client, headers, f"vm-backups/{first}", handleDependency="true")
    _delete(simulator_client, headers, f"vm-backups/{second}")  # the top, without handleDependency
    assert _records(simulator_client) == {}


def test_a_plain_delete_under_live_dependents_leaves_soft_deleted_ancestors_alone(
    simulator_client: httpx.Client,
) -> None:
    headers = login(simulator_client)
    first, second, third = _chain(simulator_client, 3)
    _delete(simulator_client, headers, f"vm-backups/{first}", handleDependency="true")
    _delete(simulator_client, headers, f"vm-backups/{second}")
    assert group_members(simulator_client, headers, second) == []
    assert _group_states(simulator_client, first) == {("Deleted", True)}
    assert _group_states(simulator_client, third) == {("Ready", False)}


def test_delete_volume_backup_follows_the_same_rules(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    first, second = _chain(simulator_client, 2)
    root, data = s.RUNNING_VM_ROOT_VOLUME_UUID, s.RUNNING_VM_DATA_VOLUME_UUIDS[0]
    kept_root = _member(simulator_client, first, root)["uuid"]
    _delete(simulator_client, headers, f"volume-backups/{kept_root}", handleDependency="true")
    assert (
        _member(simulator_client, first, root)["status"],
        _member(simulator_client, second, root)["restorable"],
    ) == (
        "Deleted",
        True,
    )
    assert _member(simulator_client, first, data)["status"] == "Ready", "other volumes' chains are untouched"

    gone_data = _member(simulator_client, first, data)["uuid"]
    _delete(simulator_client, headers, f"volume-backups/{gone_data}")
    assert gone_data not in _records(simulator_client)
    assert _member(simulator_client, second, data)["restorable"] is False
    assert _member(simulator_client, second, root)["restorable"] is True
