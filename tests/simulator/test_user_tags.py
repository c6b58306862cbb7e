"""CreateUserTag and QueryUserTag: free-form tags on any resource, as the provider marks recorded backups."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.simulator._support import create_and_wait, group_members, login, poll

pytestmark = pytest.mark.integration


def _tag(client: httpx.Client, headers: dict[str, str], params: object) -> httpx.Response:
    submitted = client.post("/zstack/v1/user-tags", headers=headers, json={"params": params})
    if submitted.status_code != 202:
        return submitted
    return poll(client, submitted.json()["location"])


def _root_of_new_backup(client: httpx.Client, headers: dict[str, str]) -> str:
    group = uuid.uuid4().hex
    assert create_and_wait(client, headers, resourceUuid=group).status_code == 200
    return next(m["uuid"] for m in group_members(client, headers, group) if m["type"] == "Root")


def test_a_tagged_backup_is_found_by_resource_and_tag(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    tagged, untagged = (_root_of_new_backup(simulator_client, headers) for _ in range(2))

    done = _tag(
        simulator_client, headers, {"resourceType": "VolumeBackupVO", "resourceUuid": tagged, "tag": "a::b"}
    )

    assert done.status_code == 200, done.text
    inventory = done.json()["inventory"]
    assert (inventory["resourceUuid"], inventory["resourceType"], inventory["tag"], inventory["type"]) == (
        tagged,
        "VolumeBackupVO",
        "a::b",
        "User",
    )
    for resource, expected in ((tagged, 1), (untagged, 0)):
        found = simulator_client.get(
            "/zstack/v1/user-tags",
            headers=headers,
            params=[("q", f"resourceUuid={resource}"), ("q", "tag=a::b")],
        )
        assert found.status_code == 200
        assert len(found.json()["inventories"]) == expected


def test_a_tag_on_a_missing_resource_fails_the_job_with_sys_1003(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    failed = _tag(
        simulator_client, headers, {"resourceType": "VolumeBackupVO", "resourceUuid": "0" * 32, "tag": "t"}
    )
    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "SYS.1003"


@pytest.mark.parametrize("missing", ["resourceType", "resourceUuid", "tag"])
def test_a_tag_without_a_mandatory_field_is_refused_before_any_job(
    simulator_client: httpx.Client, missing: str
) -> None:
    headers = login(simulator_client)
    params = {"resourceType": "VolumeBackupVO", "resourceUuid": "0" * 32, "tag": "t"}
    del params[missing]
    refused = _tag(simulator_client, headers, params)
    assert refused.status_code == 400
    assert missing in refused.text


def test_a_vm_takes_a_user_tag_and_an_unknown_vm_does_not(simulator_client: httpx.Client) -> None:
    # A restored VM carries its owner tag as a user tag on the VmInstanceVO.
    headers = login(simulator_client)
    vm = "10000000000040008000000000000001"  # the seed's running VM
    done = _tag(
        simulator_client, headers, {"resourceType": "VmInstanceVO", "resourceUuid": vm, "tag": "o::1"}
    )
    assert done.status_code == 200, done.text
    found = simulator_client.get(
        "/zstack/v1/user-tags", headers=headers, params=[("q", f"resourceUuid={vm}"), ("q", "tag~=o::%")]
    )
    assert [t["resourceType"] for t in found.json()["inventories"]] == ["VmInstanceVO"]

    failed = _tag(
        simulator_client, headers, {"resourceType": "VmInstanceVO", "resourceUuid": "0" * 32, "tag": "o::1"}
    )
    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "SYS.1003"
