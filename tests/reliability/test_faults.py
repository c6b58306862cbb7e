"""The fault matrix: VmBackup through the real Pulumi CLI while the ZStack simulator misbehaves.

A backup tool that loses track of a backup, or makes two, is worse than none. Every case switches one fault
on, runs the CLI as a user would, and checks both sides:

* what the user sees: the exit code and the text of the message;
* what ZStack holds against what the state records (`assert_consistent`): nothing lost, nothing duplicated,
  nothing orphaned.

A summary line per case (name, outcome, duration) is printed at the end of the run (see conftest.py).
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from pulumi_zstack_provider._ownership import Owner
from zstack_simulator import seed

from tests.fixtures.fault_cases import CASE_MARK
from tests.fixtures.stack import PROJECT, STACK, VM_BACKUP_TYPE, ZStackStack
from tests.reliability._cli import (
    BACKED_UP,
    BACKUP_ROOTS,
    CREATE_PATH,
    JOB_PATH,
    LARGE_UP_TIMEOUT_S,
    QUERY_PATH,
    ROOT_VOLUME,
    assert_consistent,
    assert_no_credentials_shown,
    create_jobs,
    create_posts,
    dynamic_providers_under,
    figure,
    finish_cli,
    job_polls,
    kill_tree,
    live_groups,
    nightly,
    program,
    shown,
    single_group,
    start_cli,
    wait_for,
)

NIGHTLY_URN = f"urn:pulumi:{STACK}::{PROJECT}::{VM_BACKUP_TYPE}::nightly"

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _fault_case(request: pytest.FixtureRequest) -> None:
    request.node.user_properties.append((CASE_MARK, True))


# ------------------------------------------------------------------------------------------- the cases


def test_lost_202_of_the_create_is_recovered_by_its_job_uuid(zstack_stack: ZStackStack) -> None:
    """ZStack starts the job but the answer never arrives: the provider follows the job it cannot see."""
    sim = zstack_stack.simulator
    sim.faults.lose_response(method="POST", path=CREATE_PATH, count=1)
    zstack_stack.write_program(nightly())

    done = zstack_stack.up()

    assert done.returncode == 0
    group_uuid, _ = single_group(zstack_stack)
    assert zstack_stack.outputs()["ids"] == {"nightly": group_uuid}
    assert create_posts(zstack_stack) == [None], "the create is not sent again: ZStack already runs it"
    assert len(create_jobs(sim)) == 1


def test_connection_dropped_while_polling_is_retried(zstack_stack: ZStackStack) -> None:
    """Two polls in a row lose their connection without an answer; polls are reads and are re-sent."""
    sim = zstack_stack.simulator
    sim.faults.drop_connection(method="GET", path=JOB_PATH, count=2)
    zstack_stack.write_program(nightly())

    done = zstack_stack.up()

    assert done.returncode == 0
    group_uuid, _ = single_group(zstack_stack)
    assert zstack_stack.outputs()["ids"] == {"nightly": group_uuid}
    assert [rule.fired for rule in sim.faults.rules()] == [2]
    assert len(create_jobs(sim)) == 1


@pytest.mark.parametrize("killed", ["provider", "whole CLI"])
def test_killed_during_create_then_up_resumes_the_same_group(
    zstack_stack: ZStackStack, request: pytest.FixtureRequest, killed: str
) -> None:
    """The provider process dies while ZStack runs the create job; the next `up` adopts that job's group.

    `provider`: only `python -m pulumi.dynamic` is killed; the CLI sees the provider vanish, records the
    create as failed and exits. `whole CLI`: the CLI and everything it started are killed (a crash, or an
    OOM kill), so the state keeps a pending create and the stack lock, which `pulumi cancel` removes.
    """
    sim = zstack_stack.simulator
    # Long enough to kill the provider while the job runs; the job then finishes on its own.
    sim.faults.job_duration(seconds=6.0, method="POST", path=CREATE_PATH, count=1)
    zstack_stack.write_program(nightly())

    cli = start_cli(zstack_stack, ["up", "--skip-preview"])
    try:
        wait_for(
            "ZStack to run the create job", lambda: [j for j in create_jobs(sim) if j["state"] != "done"]
        )
        providers = wait_for("the dynamic provider process", lambda: dynamic_providers_under(cli.pid))
        if killed == "provider":
            for pid in providers:
                os.kill(pid, signal.SIGKILL)
        else:
            kill_tree(cli)
    finally:
        interrupted = finish_cli(zstack_stack, cli)

    assert interrupted.returncode != 0
    figure(request, f"interrupted `up` exited {interrupted.returncode}")
    (running_group,) = live_groups(sim)
    deployment = zstack_stack.export()["deployment"]
    resources = [r for r in deployment.get("resources") or [] if r["type"] == VM_BACKUP_TYPE]
    assert resources == [], "the interrupted create did not reach the state"
    pending = deployment.get("pending_operations") or []
    if killed == "provider":
        assert "error reading from server: EOF" in shown(interrupted)
        assert pending == [], "the CLI saw the create fail, so nothing is left pending"
    else:
        assert [(op["type"], op["resource"]["inputs"]["owner_urn"]) for op in pending] == [
            ("creating", NIGHTLY_URN)
        ], "the state remembers the interrupted create and the resource it was for"
        owner = Owner(pending[0]["resource"]["inputs"]["owner_stack"], NIGHTLY_URN)
        assert running_group.startswith(owner.prefix[:12]), "the group it was making is that resource's"
        locked = zstack_stack.run(["up", "--skip-preview"], check=False)
        assert locked.returncode != 0
        assert "locked" in shown(locked)
        assert "pulumi cancel" in shown(locked)
        zstack_stack.run(["cancel", "--yes"])
        zstack_stack.forget_requests()
        # The CLI asks for a refresh to clear a pending create; this is its non-interactive form.
        zstack_stack.run(["refresh", "--skip-preview", "--clear-pending-creates"])
        assert not zstack_stack.export()["deployment"].get("pending_operations")
        assert zstack_stack.writes() == [], "clearing the pending create does not touch ZStack"

    resumed = zstack_stack.up()

    assert resumed.returncode == 0
    group_uuid, _ = single_group(zstack_stack)
    assert group_uuid == running_group, "the interrupted backup was adopted, not made again"
    assert len(create_jobs(sim)) == 1, "ZStack received one create in all"


def test_bursts_of_503_on_queries_and_on_the_create_are_retried(zstack_stack: ZStackStack) -> None:
    """Three 503 SYS.1000 in a row on the group query, then three on the POST: ZStack processed none."""
    sim = zstack_stack.simulator
    sim.faults.error_503(method="GET", path=QUERY_PATH, count=3)
    sim.faults.error_503(method="POST", path=CREATE_PATH, count=3)
    zstack_stack.write_program(nightly())

    done = zstack_stack.run(["up", "--skip-preview"], check=False)

    assert done.returncode == 0, shown(done)[-2000:]
    group_uuid, _ = single_group(zstack_stack)
    assert zstack_stack.outputs()["ids"] == {"nightly": group_uuid}
    assert [rule.fired for rule in sim.faults.rules()] == [3, 3]
    assert create_posts(zstack_stack) == [503, 503, 503, 202]
    assert len(create_jobs(sim)) == 1


def test_a_503_on_a_job_poll_is_not_taken_for_a_failed_backup(zstack_stack: ZStackStack) -> None:
    """One poll answered 503 SYS.1000 without being processed, while the job goes on (defect B alone)."""
    sim = zstack_stack.simulator
    sim.faults.error_503(method="GET", path=JOB_PATH, count=1)
    zstack_stack.write_program(nightly())

    done = zstack_stack.run(["up", "--skip-preview"], check=False)

    assert done.returncode == 0, shown(done)[-2000:]
    group_uuid, _ = single_group(zstack_stack)
    assert zstack_stack.outputs()["ids"] == {"nightly": group_uuid}
    assert [rule.fired for rule in sim.faults.rules()] == [1]
    # The 503 reads like the job's failure; the members ZStack still holds show it was not, and the provider
    # waits for them to become Ready instead of polling the job again.
    assert job_polls(zstack_stack) == [503], "the first poll of the job got the 503"
    assert create_posts(zstack_stack) == [202], "the create was not sent again"
    assert len(create_jobs(sim)) == 1


def test_session_expiring_during_the_job_is_renewed(zstack_stack: ZStackStack) -> None:
    """Polls carry no session, so the expiry shows on the next query (ID.1001): log in again, carry on.

    The create that submitted the job needs no query after it (the job result holds the backups), so a
    second backup, made once the first is done, is the call that meets the expired session.
    """
    sim = zstack_stack.simulator
    sim.faults.expire_session_during_job(method="POST", path=CREATE_PATH, count=1)
    inputs = f"root_volume_uuid={ROOT_VOLUME!r}, backup_storage_uuid={seed.IMAGESTORE_BS_UUID!r}"
    zstack_stack.write_program(
        "import pulumi\nimport pulumi_zstack as zstack\n\n"
        f"first = zstack.VmBackup('nightly', {inputs}, name='nightly')\n"
        f"second = zstack.VmBackup('weekly', {inputs}, name='weekly', "
        "opts=pulumi.ResourceOptions(depends_on=[first]))\n"
        "pulumi.export('ids', {'nightly': first.id, 'weekly': second.id})\n"
    )

    done = zstack_stack.up()

    assert done.returncode == 0
    assert set(zstack_stack.outputs()["ids"].values()) == set(live_groups(sim))
    assert [rule.fired for rule in sim.faults.rules()] == [1]
    assert len(sim.issued_session_ids) == 2, "the provider logged in again once"
    assert len(create_jobs(sim)) == 2


def test_failed_job_names_the_zstack_error_and_leaves_nothing_behind(zstack_stack: ZStackStack) -> None:
    """ZStack rolls a failed CreateVmBackup back; the user gets its code and details, and no retry."""
    sim = zstack_stack.simulator
    sim.faults.fail_job(
        code="SYS.1006",
        details="image store backup storage has no space left",
        method="POST",
        path=CREATE_PATH,
        count=1,
    )
    zstack_stack.write_program(nightly())

    done = zstack_stack.run(["up", "--skip-preview"], check=False)

    assert done.returncode != 0
    message = shown(done)
    assert "SYS.1006" in message
    assert "image store backup storage has no space left" in message
    assert "create of VmBackup" in message
    assert sim.backups() == [], "ZStack rolled the failed backup back"
    assert zstack_stack.resources() == []
    assert assert_consistent(zstack_stack, sim) == {}
    assert_no_credentials_shown(zstack_stack)
    assert len(create_jobs(sim)) == 1, "a failed job is not retried"


def test_timeout_tells_how_to_raise_it_and_the_next_up_resumes_the_group(zstack_stack: ZStackStack) -> None:
    """The job outlives `create_timeout`; the user follows the hint and the group is adopted, not redone."""
    sim = zstack_stack.simulator
    sim.faults.job_duration(seconds=6.0, method="POST", path=CREATE_PATH, count=1)
    zstack_stack.write_program(nightly(create_timeout="2s"))

    timed_out = zstack_stack.run(["up", "--skip-preview"], check=False)

    assert timed_out.returncode != 0
    message = shown(timed_out)
    (running_group,) = live_groups(sim)
    assert "did not finish within 2 s" in message
    assert "Raise the `create_timeout` input of this VmBackup (now 2s)" in message
    assert running_group in message, "the message names the group the next run resumes"
    assert zstack_stack.resources() == []

    wait_for("the create job to finish", lambda: [j for j in create_jobs(sim) if j["state"] == "done"])
    zstack_stack.write_program(nightly(create_timeout="10m"))
    resumed = zstack_stack.up()

    assert resumed.returncode == 0
    group_uuid, _ = single_group(zstack_stack)
    assert group_uuid == running_group
    assert len(create_jobs(sim)) == 1, "no second create"


def test_job_record_expiring_while_polling_is_resolved_by_querying_the_group(
    zstack_stack: ZStackStack,
) -> None:
    """The poll answers 404 although the backups exist: the group query, not a re-POST, settles it."""
    sim = zstack_stack.simulator
    sim.faults.expire_job_record(method="POST", path=CREATE_PATH, count=1)
    zstack_stack.write_program(nightly())

    done = zstack_stack.up()

    assert done.returncode == 0
    group_uuid, _ = single_group(zstack_stack)
    assert zstack_stack.outputs()["ids"] == {"nightly": group_uuid}
    assert [rule.fired for rule in sim.faults.rules()] == [1]
    assert job_polls(zstack_stack)[-1] == 404, "the job's record was gone when its result was due"
    assert create_posts(zstack_stack) == [202], "the backups exist, so the create is not sent again"


def test_member_deleted_out_of_band_shows_on_refresh_and_up_makes_a_whole_backup(
    zstack_stack: ZStackStack,
) -> None:
    sim = zstack_stack.simulator
    zstack_stack.write_program(nightly())
    zstack_stack.up()
    group_uuid, members = single_group(zstack_stack)
    lost = next(m for m in members if m["type"] == "Data")
    assert sim.delete_backup(str(lost["uuid"]))

    refreshed = zstack_stack.refresh()

    assert refreshed.returncode == 0
    (resource,) = zstack_stack.resources()
    assert resource["outputs"]["missing_members"] == [lost["volumeUuid"]]
    assert_consistent(zstack_stack, sim)
    planned = zstack_stack.preview().steps()
    assert [(step["op"], step.get("replaceReasons")) for step in planned] == [
        ("replace", ["missing_members"])
    ]

    replaced = zstack_stack.up()

    assert replaced.returncode == 0
    assert "1 replaced" in shown(replaced)
    new_group, new_members = single_group(zstack_stack)
    assert new_group != group_uuid, "the replacement is a new group, made before the broken one is deleted"
    assert {m["volumeUuid"] for m in new_members} == BACKED_UP[ROOT_VOLUME]
    # The new backup builds on the old one, whose members therefore stay as `Deleted` records holding the
    # bits it needs (handleDependency): gone for every client, but not purged.
    live = {str(b["uuid"]) for b in sim.backups() if b["status"] != "Deleted"}
    remnants = {str(m["uuid"]) for m in members} & live
    assert not remnants, f"old members survived the replacement: {sorted(remnants)}"
    assert {b["restorable"] for b in new_members} == {True}
    (resource,) = zstack_stack.resources()
    assert not resource["outputs"].get("missing_members")


def test_destroy_succeeds_when_the_group_is_already_gone(zstack_stack: ZStackStack) -> None:
    """Someone deleted the backup in ZStack first: destroy has nothing left to delete and succeeds."""
    sim = zstack_stack.simulator
    zstack_stack.write_program(nightly())
    zstack_stack.up()
    group_uuid, members = single_group(zstack_stack)
    assert sim.delete_backup_group(group_uuid) == len(members)

    done = zstack_stack.destroy()

    assert done.returncode == 0
    assert zstack_stack.resources() == []
    assert assert_consistent(zstack_stack, sim) == {}
    assert sim.backups() == []
    assert_no_credentials_shown(zstack_stack)


def test_fifty_backups_in_one_up_under_ten_percent_503s(
    zstack_stack: ZStackStack, request: pytest.FixtureRequest
) -> None:
    """Every ZStack request (login, queries, POSTs, polls) is answered 503 with a seeded 10 % chance."""
    sim = zstack_stack.simulator
    rule = sim.faults.error_503(probability=0.1, seed=20240501)
    names = [f"backup-{i:02d}" for i in range(50)]
    zstack_stack.write_program(
        program(
            {name: {"root_volume_uuid": BACKUP_ROOTS[i % len(BACKUP_ROOTS)]} for i, name in enumerate(names)}
        )
    )

    started = time.monotonic()
    done = zstack_stack.workspace.run(
        ["up", "--skip-preview"], zstack_stack.directory, check=False, timeout=LARGE_UP_TIMEOUT_S
    )
    elapsed = time.monotonic() - started
    zstack_stack.transcript.append(shown(done))
    fired = next(r.fired for r in sim.faults.rules() if r.id == rule.id)
    figure(
        request, f"50 backups in {elapsed:.1f} s, {fired} of {len(zstack_stack.requests())} requests got 503"
    )

    assert done.returncode == 0, shown(done)[-3000:]
    held = assert_consistent(zstack_stack, sim)
    assert len(held) == 50
    ids = zstack_stack.outputs()["ids"]
    assert sorted(ids) == names
    assert sorted(ids.values()) == sorted(held)
    assert fired > 0
    assert_no_credentials_shown(zstack_stack)

    sim.faults.remove(rule.id)
    zstack_stack.destroy()
    assert live_groups(sim) == {}, "each backup is its resource's to delete, however its tag was written"
