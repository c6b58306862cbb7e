"""The client against the ZStack simulator over real HTTP(S) on 127.0.0.1."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from pulumi_zstack_provider._client import (
    ConnectionSettings,
    JobFailedError,
    JobNotFoundError,
    TransportError,
    ZStackClient,
)
from zstack_simulator import RunningSimulator
from zstack_simulator.seed import (
    IMAGESTORE_BS_UUID,
    RUNNING_VM_DATA_VOLUME_UUIDS,
    RUNNING_VM_ROOT_VOLUME_UUID,
    RUNNING_VM_UUID,
    STOPPED_VM_ROOT_VOLUME_UUID,
)

pytestmark = pytest.mark.integration

CREATE = f"/volumes/{RUNNING_VM_ROOT_VOLUME_UUID}/vm-backups"
MEMBERS = 1 + len(RUNNING_VM_DATA_VOLUME_UUIDS)  # the shareable volume is left out


def settings_for(running: RunningSimulator, *, access_key: bool = False, **extra: str) -> ConnectionSettings:
    credentials = running.simulator.credentials
    config = {"zstack:host": running.host, "zstack:port": str(running.port), "zstack:scheme": running.scheme}
    if access_key:
        assert credentials.access_key_id is not None
        assert credentials.access_key_secret is not None
        config |= {
            "zstack:accessKeyId": credentials.access_key_id,
            "zstack:accessKeySecret": credentials.access_key_secret,
        }
    else:
        assert credentials.account_name is not None
        assert credentials.account_password is not None
        config |= {
            "zstack:accountName": credentials.account_name,
            "zstack:accountPassword": credentials.account_password,
        }
    return ConnectionSettings.resolve(config | extra, {})


@pytest.fixture
def client(simulator: RunningSimulator) -> Iterator[ZStackClient]:
    with ZStackClient(settings_for(simulator)) as client:
        yield client


def create(client: ZStackClient, group: str, root_volume: str = RUNNING_VM_ROOT_VOLUME_UUID) -> dict:
    return client.run_job(
        "POST",
        f"/volumes/{root_volume}/vm-backups",
        body={"params": {"name": "nightly", "backupStorageUuid": IMAGESTORE_BS_UUID, "resourceUuid": group}},
        deadline=time.monotonic() + 30,
        operation="creation of VM backup nightly",
        max_poll_interval=0.2,
    )


def group_members(client: ZStackClient, group: str) -> list[dict]:
    return client.query("volume-backups", f"groupUuid={group}")


def test_create_query_delete_round_trip(client: ZStackClient, simulator: RunningSimulator) -> None:
    group = uuid.uuid4().hex
    result = create(client, group)
    assert len(result["inventories"]) == MEMBERS
    members = group_members(client, group)
    assert {m["uuid"] for m in members} == {m["uuid"] for m in result["inventories"]}
    assert {m["vmInstanceUuid"] for m in members} == {RUNNING_VM_UUID}
    assert [m["type"] for m in members].count("Root") == 1
    client.run_job(
        "DELETE",
        f"/vm-backups/{group}",
        params={"deleteMode": "Permissive"},
        deadline=time.monotonic() + 30,
        operation="deletion of VM backup nightly",
        max_poll_interval=0.2,
    )
    assert group_members(client, group) == []


def test_access_key_authentication(simulator: RunningSimulator) -> None:
    with ZStackClient(settings_for(simulator, access_key=True)) as client:
        group = uuid.uuid4().hex
        create(client, group)
        assert len(group_members(client, group)) == MEMBERS
    assert {r.auth for r in simulator.simulator.requests() if "api-jobs" not in r.path} == {"ZStack"}


def test_lost_answer_creates_the_backup_once(client: ZStackClient, simulator: RunningSimulator) -> None:
    rule = simulator.simulator.faults.lose_response(method="POST", path=f"/zstack/v1{CREATE}", count=1)
    group = uuid.uuid4().hex
    create(client, group)
    assert len(group_members(client, group)) == MEMBERS
    assert [r.fired for r in simulator.simulator.faults.rules() if r.id == rule.id] == [1]
    (post,) = [r for r in simulator.simulator.requests() if r.method == "POST"]
    assert post.status is None, "ZStack started the job but its answer never arrived"
    polled = {r.path.rsplit("/", 1)[1] for r in simulator.simulator.requests() if r.api == "QueryJob"}
    assert polled == {post.job_uuid}, "the job whose answer was lost is followed by its X-Job-UUID"


def test_dropped_request_is_resent(client: ZStackClient, simulator: RunningSimulator) -> None:
    simulator.simulator.faults.drop_connection(method="POST", path=f"/zstack/v1{CREATE}", count=1)
    group = uuid.uuid4().hex
    create(client, group)
    assert len(group_members(client, group)) == MEMBERS
    assert len([r for r in simulator.simulator.requests() if r.method == "POST"]) == 2


def test_session_expiring_during_the_job(client: ZStackClient, simulator: RunningSimulator) -> None:
    client.query("volume-backups")
    simulator.simulator.expire_sessions()
    group = uuid.uuid4().hex
    create(client, group)
    assert len(group_members(client, group)) == MEMBERS
    posts = [r for r in simulator.simulator.requests() if r.method == "POST"]
    assert len(posts) == 2
    assert posts[0].job_uuid != posts[1].job_uuid  # the refused job never ran, so it is a new submission


def test_validation_failure_arrives_as_job_failure(client: ZStackClient) -> None:
    group = uuid.uuid4().hex
    with pytest.raises(JobFailedError) as raised:
        create(client, group, root_volume=STOPPED_VM_ROOT_VOLUME_UUID)
    assert raised.value.code == "SYS.1006"
    assert group_members(client, group) == []


def test_expired_job_record(client: ZStackClient, simulator: RunningSimulator) -> None:
    simulator.simulator.faults.expire_job_record(method="POST", count=1)
    with pytest.raises(JobNotFoundError):
        create(client, uuid.uuid4().hex)


def test_transient_503s_on_reads_are_retried(client: ZStackClient, simulator: RunningSimulator) -> None:
    group = uuid.uuid4().hex
    create(client, group)
    simulator.simulator.clear_requests()
    rule = simulator.simulator.faults.error_503(method="GET", path="/zstack/v1/volume-backups", count=2)
    assert len(group_members(client, group)) == MEMBERS
    assert [r.fired for r in simulator.simulator.faults.rules() if r.id == rule.id] == [2]
    queries = [r.status for r in simulator.simulator.requests() if r.api == "QueryVolumeBackup"]
    assert queries == [503, 503, 200], "the query is sent again after each 503"


def test_tls_with_the_ca_bundle(tls_simulator: RunningSimulator) -> None:
    assert tls_simulator.ca_bundle is not None
    settings = settings_for(tls_simulator, **{"zstack:caCertFile": str(tls_simulator.ca_bundle)})
    with ZStackClient(settings) as client:
        assert client.query("volume-backups", "groupUuid=" + uuid.uuid4().hex) == []


def test_untrusted_certificate_suggests_the_ca_setting(tls_simulator: RunningSimulator) -> None:
    with ZStackClient(settings_for(tls_simulator)) as client, pytest.raises(TransportError) as raised:
        client.query("volume-backups")
    assert "zstack:caCertFile" in str(raised.value)
    assert f"{tls_simulator.host}:{tls_simulator.port}" in str(raised.value)
