"""`pulumi destroy` through the real CLI while ZStack misbehaves.

A destroy that reports success while ZStack keeps the backup leaves storage nobody pays attention to; one
that drops the resource from state while the backup survives loses track of it. Every case first backs up
the running VM with `pulumi up`, switches one fault on, destroys, and then checks after each CLI step that
the backup groups ZStack holds are exactly the VmBackups the state lists.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.fault_cases import CASE_MARK
from tests.fixtures.stack import VM_BACKUP_TYPE, ZStackStack
from tests.reliability._cli import (
    BACKED_UP,
    JOB_PATH,
    ROOT_VOLUME,
    assert_consistent,
    assert_no_credentials_shown,
    figure,
    finish_cli,
    job_polls,
    kill_tree,
    live_groups,
    nightly,
    shown,
    single_group,
    start_cli,
    wait_for,
)

pytestmark = pytest.mark.e2e

DELETE_GROUP_PATH = "/zstack/v1/vm-backups/*"
DELETE_GROUP_API = "DeleteVmBackup"
DELETE_MEMBER_API = "DeleteVolumeBackup"
# A delete job that outlasts the case however slow the machine; the case ends it by moving ZStack's clock.
SLOW_DELETE_S = 3600.0


@pytest.fixture(autouse=True)
def _fault_case(request: pytest.FixtureRequest) -> None:
    request.node.user_properties.append((CASE_MARK, True))


def backed_up(stack: ZStackStack) -> tuple[str, list[dict[str, Any]]]:
    """`pulumi up` of one VmBackup of the running VM; returns its group and members, requests forgotten."""
    stack.write_program(nightly())
    stack.up()
    group_uuid, members = single_group(stack)
    stack.forget_requests()
    return group_uuid, members


def assert_state_matches_zstack(stack: ZStackStack) -> set[str]:
    """The backup groups ZStack holds are exactly the VmBackups in state; returns those groups."""
    deployment = stack.export()["deployment"]
    in_state = [str(r["id"]) for r in deployment.get("resources") or [] if r["type"] == VM_BACKUP_TYPE]
    held = set(live_groups(stack.simulator))
    assert len(in_state) == len(set(in_state)), f"two resources in state track one group: {in_state}"
    assert held == set(in_state), (
        f"ZStack holds groups {sorted(held)} but the state lists {sorted(in_state)}: "
        f"orphaned {sorted(held - set(in_state))}, lost {sorted(set(in_state) - held)}"
    )
    return held


def assert_destroyed(stack: ZStackStack) -> None:
    """Nothing left on either side: no VmBackup in state, nothing pending, no backup record in ZStack."""
    assert stack.resources() == []
    assert assert_consistent(stack, stack.simulator) == {}
    assert stack.simulator.backups() == [], "ZStack keeps no record of the group, not even a Deleted one"
    assert_no_credentials_shown(stack)


def statuses(stack: ZStackStack, api: str) -> list[int | None]:
    """The HTTP status ZStack answered to each request of `api` (None: no answer was sent)."""
    return [r.status for r in stack.requests() if r.api == api]


def fired(stack: ZStackStack) -> list[int]:
    return [rule.fired for rule in stack.simulator.faults.rules()]


def test_lost_answer_to_delete_vm_backup_is_followed_by_its_job_uuid(zstack_stack: ZStackStack) -> None:
    """ZStack starts the delete but its 202 never arrives: the provider finds the job and follows it."""
    backed_up(zstack_stack)
    zstack_stack.simulator.faults.lose_response(method="DELETE", path=DELETE_GROUP_PATH, count=1)

    done = zstack_stack.destroy()

    assert done.returncode == 0
    assert fired(zstack_stack) == [1]
    assert statuses(zstack_stack, DELETE_GROUP_API) == [None], "the delete was not sent a second time"
    assert statuses(zstack_stack, DELETE_MEMBER_API) == [], "the group delete removed every member"
    assert_destroyed(zstack_stack)


def test_503s_on_delete_vm_backup_are_retried(zstack_stack: ZStackStack) -> None:
    """Three 503 SYS.1000 in a row on the DELETE: ZStack processed none of them."""
    backed_up(zstack_stack)
    zstack_stack.simulator.faults.error_503(method="DELETE", path=DELETE_GROUP_PATH, count=3)

    done = zstack_stack.destroy()

    assert done.returncode == 0
    assert fired(zstack_stack) == [3]
    assert statuses(zstack_stack, DELETE_GROUP_API) == [503, 503, 503, 202]
    assert_destroyed(zstack_stack)


def test_dropped_polls_of_the_delete_job_are_retried(zstack_stack: ZStackStack) -> None:
    """Two polls of the delete job in a row lose their connection; polls are reads and are sent again."""
    backed_up(zstack_stack)
    zstack_stack.simulator.faults.drop_connection(method="GET", path=JOB_PATH, count=2)

    done = zstack_stack.destroy()

    assert done.returncode == 0
    assert fired(zstack_stack) == [2]
    polls = job_polls(zstack_stack)
    assert polls[:2] == [None, None]
    assert polls[-1] == 200, "the delete job was polled until it reported its result"
    assert statuses(zstack_stack, DELETE_GROUP_API) == [202]
    assert_destroyed(zstack_stack)


def test_session_expiring_during_the_delete_is_renewed(zstack_stack: ZStackStack) -> None:
    """The session dies right after ZStack accepts the delete; the check that follows logs in again."""
    backed_up(zstack_stack)
    zstack_stack.simulator.faults.expire_session_during_job(method="DELETE", path=DELETE_GROUP_PATH, count=1)

    done = zstack_stack.destroy()

    assert done.returncode == 0
    assert fired(zstack_stack) == [1]
    assert len(statuses(zstack_stack, "LogInByAccount")) == 2, "the provider logged in again once"
    assert 503 in statuses(zstack_stack, "QueryVolumeBackup"), "a query met the expired session"
    assert statuses(zstack_stack, DELETE_GROUP_API) == [202], "the accepted delete was not sent again"
    assert_destroyed(zstack_stack)


def test_job_record_expiring_during_the_delete_is_settled_by_querying_the_group(
    zstack_stack: ZStackStack,
) -> None:
    """The delete job ends but its record is gone when the result is due: the group query, not the poll,
    tells that the backup was deleted."""
    backed_up(zstack_stack)
    zstack_stack.simulator.faults.expire_job_record(method="DELETE", path=DELETE_GROUP_PATH, count=1)

    done = zstack_stack.run(["destroy", "--skip-preview"], check=False)

    assert done.returncode == 0, shown(done)[-2000:]
    assert fired(zstack_stack) == [1]
    assert job_polls(zstack_stack)[-1] == 404
    assert statuses(zstack_stack, DELETE_GROUP_API) == [202], "the delete was not sent again"
    assert_destroyed(zstack_stack)


def test_member_refusing_deletion_fails_destroy_and_keeps_the_group_in_state(
    zstack_stack: ZStackStack, request: pytest.FixtureRequest
) -> None:
    """ZStack cannot delete one data backup: destroy says which and keeps the group; a rerun finishes."""
    group_uuid, members = backed_up(zstack_stack)
    stuck = next(m for m in members if m["type"] == "Data")
    zstack_stack.simulator.faults.fail_member_delete(target=str(stuck["uuid"]))

    failed = zstack_stack.run(["destroy", "--skip-preview"], check=False)

    assert failed.returncode != 0
    message = shown(failed)
    figure(request, f"destroy exited {failed.returncode}")
    assert stuck["uuid"] in message, "the message names the volume backup ZStack kept"
    assert group_uuid in message
    assert "SYS.1006" in message
    assert fired(zstack_stack) == [2], "the group delete and then the member delete both failed for it"
    assert statuses(zstack_stack, DELETE_MEMBER_API) == [202], "the survivor was deleted on its own"
    assert assert_state_matches_zstack(zstack_stack) == {group_uuid}
    assert [m["uuid"] for m in live_groups(zstack_stack.simulator)[group_uuid]] == [stuck["uuid"]]

    zstack_stack.refresh()

    assert assert_state_matches_zstack(zstack_stack) == {group_uuid}
    (resource,) = zstack_stack.resources()
    assert [m["uuid"] for m in resource["outputs"]["members"]] == [stuck["uuid"]]
    assert set(resource["outputs"]["missing_members"]) == BACKED_UP[ROOT_VOLUME] - {stuck["volumeUuid"]}

    zstack_stack.simulator.faults.clear()
    done = zstack_stack.destroy()

    assert done.returncode == 0
    assert_destroyed(zstack_stack)


def test_cli_killed_mid_destroy_then_cancel_refresh_and_destroy_leave_nothing(
    zstack_stack: ZStackStack, request: pytest.FixtureRequest
) -> None:
    """The CLI and its plugins are SIGKILLed while ZStack runs the delete job; the user recovers."""
    sim = zstack_stack.simulator
    group_uuid, _ = backed_up(zstack_stack)
    sim.faults.job_duration(seconds=SLOW_DELETE_S, method="DELETE", path=DELETE_GROUP_PATH, count=1)

    def running_deletes() -> list[dict[str, Any]]:
        return [j for j in sim.jobs() if j["api"] == DELETE_GROUP_API and j["state"] != "done"]

    cli = start_cli(zstack_stack, ["destroy", "--skip-preview"])
    try:
        wait_for("ZStack to run the delete job", running_deletes)
    finally:
        kill_tree(cli)
        killed = finish_cli(zstack_stack, cli)

    assert killed.returncode != 0
    assert assert_state_matches_zstack(zstack_stack) == {group_uuid}, "the group is still there, as in state"
    pending = zstack_stack.export()["deployment"].get("pending_operations") or []
    figure(request, f"pending after the kill: {[op['type'] for op in pending]}")
    assert [(op["type"], op["resource"]["id"]) for op in pending] == [("deleting", group_uuid)]

    locked = zstack_stack.run(["destroy", "--skip-preview"], check=False)
    assert locked.returncode != 0
    assert "pulumi cancel" in shown(locked), "the CLI tells how to release the stack it left locked"
    zstack_stack.run(["cancel", "--yes"])
    zstack_stack.refresh()
    assert not zstack_stack.export()["deployment"].get("pending_operations")
    assert assert_state_matches_zstack(zstack_stack) == {group_uuid}

    done = zstack_stack.destroy()

    assert done.returncode == 0
    assert_destroyed(zstack_stack)
    assert running_deletes(), "the delete started before the kill is still running"
    sim.clock.advance(SLOW_DELETE_S)
    assert not running_deletes()
    assert live_groups(sim) == {}, "the delete ZStack finished after the kill left nothing behind"
