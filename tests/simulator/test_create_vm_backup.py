"""CreateVmBackup: members, visibility while running, server-side renaming, validation on the poll."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
import pytest
from zstack_simulator import RunningSimulator, Settings, Simulator
from zstack_simulator import seed as s

from tests.fixtures.simulator import ServeSimulator
from tests.simulator._support import create_and_wait, create_backup, group_members, login, poll

pytestmark = pytest.mark.integration

STAMP = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{1,3}"
DATE = re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M")


def test_one_member_per_non_shareable_volume(simulator_client: httpx.Client) -> None:
    group = uuid.uuid4().hex
    result = create_and_wait(simulator_client, login(simulator_client), resourceUuid=group, name="web")
    assert result.status_code == 200
    members = result.json()["inventories"]
    volumes = {m["volumeUuid"]: m for m in members}
    assert set(volumes) == {s.RUNNING_VM_ROOT_VOLUME_UUID, *s.RUNNING_VM_DATA_VOLUME_UUIDS}
    assert {m["groupUuid"] for m in members} == {group}
    assert [m["type"] for m in members].count("Root") == 1
    root = volumes[s.RUNNING_VM_ROOT_VOLUME_UUID]
    assert re.fullmatch(rf"web-{STAMP}", root["name"])
    data = volumes[s.RUNNING_VM_DATA_VOLUME_UUIDS[0]]
    assert re.fullmatch(rf"web-{s.RUNNING_VM_DATA_VOLUME_UUIDS[0]}-{STAMP}", data["name"])
    for member in members:
        assert (member["state"], member["status"], member["mode"]) == ("Enabled", "Ready", "auto")
        assert member["vmInstanceUuid"] == s.RUNNING_VM_UUID
        assert member["size"] > 0
        assert DATE.fullmatch(member["createDate"])
        assert DATE.fullmatch(member["lastOpDate"])
        assert "description" not in member  # null fields are omitted
        [ref] = member["backupStorageRefs"]
        assert (ref["backupStorageUuid"], ref["status"], ref["volumeBackupUuid"]) == (
            s.IMAGESTORE_BS_UUID,
            "Ready",
            member["uuid"],
        )
        assert ref["installPath"].startswith("zstore://")
        assert json.loads(member["metadata"])["vmInstanceUuid"] == s.RUNNING_VM_UUID
    assert json.loads(root["metadata"])["dataVolumeUuids"] == [
        *s.RUNNING_VM_DATA_VOLUME_UUIDS,
        s.RUNNING_VM_SHARED_VOLUME_UUID,
    ]


def test_members_are_visible_while_the_job_runs(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    simulator.simulator.settings.job_seconds = None
    simulator.simulator.settings.job_polls = 2
    headers = login(simulator_client)
    group = uuid.uuid4().hex
    location = create_backup(simulator_client, headers, resourceUuid=group, description="nightly run").json()[
        "location"
    ]
    running = group_members(simulator_client, headers, group)
    assert len(running) == 3
    for member in running:
        assert (member["status"], member["state"], member["size"], member["name"]) == (
            "Creating",
            "Disabled",
            0,
            member["volumeUuid"],
        )
        assert member["description"] == "nightly run"
        assert member["backupStorageRefs"][0]["status"] == "Creating"
    assert poll(simulator_client, location).status_code == 200
    done = group_members(simulator_client, headers, group)
    assert {m["status"] for m in done} == {"Ready"}
    assert {m["uuid"] for m in done} == {m["uuid"] for m in running}


def test_paused_vm_and_full_mode(simulator_client: httpx.Client) -> None:
    result = create_and_wait(
        simulator_client, login(simulator_client), root=s.PAUSED_VM_ROOT_VOLUME_UUID, mode="full"
    ).json()
    assert {m["mode"] for m in result["inventories"]} == {"full"}
    assert {m["volumeUuid"] for m in result["inventories"]} == {
        s.PAUSED_VM_ROOT_VOLUME_UUID,
        s.PAUSED_VM_DATA_VOLUME_UUID,
    }


def test_group_uuid_is_random_without_resource_uuid(simulator_client: httpx.Client) -> None:
    members = create_and_wait(simulator_client, login(simulator_client)).json()["inventories"]
    [group] = {m["groupUuid"] for m in members}
    assert re.fullmatch(r"[0-9a-f]{32}", group)
    assert group not in {m["uuid"] for m in members}


def test_reused_resource_uuid_makes_a_second_set_in_the_same_group(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = uuid.uuid4().hex
    create_and_wait(simulator_client, headers, resourceUuid=group)
    create_and_wait(simulator_client, headers, resourceUuid=group)
    members = group_members(simulator_client, headers, group)
    assert len(members) == 6
    assert [m["type"] for m in members].count("Root") == 2


def test_long_names_are_truncated_to_255(simulator_client: httpx.Client) -> None:
    members = create_and_wait(simulator_client, login(simulator_client), name="n" * 255).json()["inventories"]
    assert {len(m["name"]) for m in members} == {255}


def test_path_wins_over_root_volume_uuid_in_params(simulator_client: httpx.Client) -> None:
    result = create_and_wait(
        simulator_client, login(simulator_client), root=s.ROOT_ONLY_VM_ROOT_VOLUME_UUID,
        rootVolumeUuid=s.RUNNING_VM_ROOT_VOLUME_UUID,
    )  # fmt: skip
    assert [m["volumeUuid"] for m in result.json()["inventories"]] == [s.ROOT_ONLY_VM_ROOT_VOLUME_UUID]


def test_system_tags_are_attached_to_every_member(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    body = {
        "params": {"name": "tagged", "backupStorageUuid": s.IMAGESTORE_BS_UUID},
        "systemTags": ["backup::network::cidr::10.0.0.0/24"],
        "userTags": ["ignored"],
    }
    location = create_backup(simulator_client, headers, body=body).json()["location"]
    poll(simulator_client, location)
    job_uuid = location.rsplit("/", 1)[-1]
    # The server adds its manual-create marker (the API call's id), which a schedule's retention respects.
    assert {tuple(b["systemTags"]) for b in simulator.simulator.backups()} == {
        ("backup::network::cidr::10.0.0.0/24", f"manualCreate::api::{job_uuid}")
    }
    tagged = simulator_client.get(
        "/zstack/v1/volume-backups",
        headers=headers,
        params={"q": "__systemTag__=backup::network::cidr::10.0.0.0/24"},
    ).json()["inventories"]
    assert len(tagged) == 3


def test_result_order_is_not_stable(serve_simulator: ServeSimulator) -> None:
    running = serve_simulator(Simulator(Settings(job_polls=0, job_seconds=None, shuffle_seed=7)))
    with httpx.Client(base_url=running.base_url) as client:
        headers = login(client)
        orders = {
            tuple(m["type"] + m["volumeUuid"] for m in create_and_wait(client, headers).json()["inventories"])
            for _ in range(6)
        }
    assert len(orders) > 1


def _invalid(**params: Any) -> dict[str, Any]:
    return {"name": "x", "backupStorageUuid": s.IMAGESTORE_BS_UUID} | params


ROOT = s.RUNNING_VM_ROOT_VOLUME_UUID
NOT_RUNNING = "because it is not in state[Running, Paused]"
INVALID_UUID = "is not a valid uuid"


@pytest.mark.parametrize(
    ("root", "params", "code", "details"),
    [
        pytest.param(s.STOPPED_VM_ROOT_VOLUME_UUID, _invalid(), "SYS.1006", NOT_RUNNING, id="stopped-vm"),
        pytest.param(s.STARTING_VM_ROOT_VOLUME_UUID, _invalid(), "SYS.1006", NOT_RUNNING, id="starting-vm"),
        pytest.param(
            ROOT,
            _invalid(backupStorageUuid=s.CEPH_BS_UUID),
            "SYS.1006",
            f"Unexpected backup storage[type:Ceph,uuid:{s.CEPH_BS_UUID}]",
            id="ceph-bs",
        ),
        pytest.param(
            ROOT,
            _invalid(backupStorageUuid=s.SFTP_BS_UUID),
            "SYS.1006",
            "Unexpected backup storage[type:SftpBackupStorage",
            id="sftp-bs",
        ),
        pytest.param(
            ROOT,
            _invalid(backupStorageUuid=s.DISABLED_IMAGESTORE_BS_UUID),
            "SYS.1006",
            "current backup storage state[Disabled]",
            id="disabled-bs",
        ),
        pytest.param(
            s.RUNNING_VM_DATA_VOLUME_UUIDS[0], _invalid(), "SYS.1006", "is not root volume", id="data-volume"
        ),
        pytest.param(
            s.ORPHAN_ROOT_VOLUME_UUID,
            _invalid(),
            "SYS.1006",
            "No VM found with root volume",
            id="orphan-root",
        ),
        pytest.param("0" * 32, _invalid(), "SYS.1003", "invalid field[rootVolumeUuid]", id="unknown-volume"),
        pytest.param(
            "{rootVolumeUuid}",
            _invalid(),
            "SYS.1003",
            "invalid field[rootVolumeUuid]",
            id="go-sdk-placeholder",
        ),
        pytest.param(
            ROOT,
            _invalid(backupStorageUuid="f" * 32),
            "SYS.1003",
            "invalid field[backupStorageUuid]",
            id="unknown-bs",
        ),
        pytest.param(
            ROOT, {"backupStorageUuid": s.IMAGESTORE_BS_UUID}, "SYS.1007", "field[name]", id="no-name"
        ),
        pytest.param(ROOT, {"name": "x"}, "SYS.1007", "field[backupStorageUuid]", id="no-bs"),
        pytest.param(ROOT, _invalid(name="n" * 256), "SYS.1007", "exceeds max length", id="long-name"),
        pytest.param(
            ROOT, _invalid(description="d" * 2049), "SYS.1007", "exceeds max length", id="long-description"
        ),
        pytest.param(
            ROOT, _invalid(mode="incremental"), "SYS.1007", "valid value for field[mode]", id="bad-mode"
        ),
        pytest.param(
            ROOT, _invalid(networkWriteBandwidth=1023), "SYS.1007", "must be in range", id="low-bandwidth"
        ),
        pytest.param(
            ROOT, _invalid(resourceUuid="not-a-uuid"), "SYS.1007", INVALID_UUID, id="bad-resource-uuid"
        ),
        pytest.param(
            ROOT,
            _invalid(resourceUuid="0123456789ab0def8123456789abcdef"),
            "SYS.1007",
            INVALID_UUID,
            id="resource-uuid-version-0",
        ),
    ],
)
def test_validation_failures_arrive_on_the_poll(
    simulator_client: httpx.Client, root: str, params: dict[str, Any], code: str, details: str
) -> None:
    headers = login(simulator_client)
    submitted = create_backup(simulator_client, headers, root=root, body={"params": params})
    assert submitted.status_code == 202
    result = poll(simulator_client, submitted.json()["location"])
    assert result.status_code == 503
    error = result.json()["error"]
    assert error["code"] == code
    assert details in error["details"]
    assert error["description"]
    assert simulator_client.get("/zstack/v1/volume-backups", headers=headers).json()["inventories"] == []


@pytest.mark.parametrize("value", ["fast", 2048.5, True])
def test_non_integer_bandwidth_is_refused_before_the_job(
    simulator_client: httpx.Client, value: object
) -> None:
    headers = login(simulator_client)
    response = create_backup(simulator_client, headers, volumeReadBandwidth=value)
    assert response.status_code == 400
    assert response.text.startswith("[volumeReadBandwidth] field is excepted an int or long, but was [")
    assert simulator_client.get("/_simulator/jobs").json() == []


def test_bad_json_body_is_plain_text_400(simulator_client: httpx.Client) -> None:
    response = simulator_client.post(
        f"/zstack/v1/volumes/{s.RUNNING_VM_ROOT_VOLUME_UUID}/vm-backups",
        headers=login(simulator_client),
        content=b"{not json",
    )
    assert (response.status_code, response.headers["content-type"].split(";")[0]) == (400, "text/plain")
