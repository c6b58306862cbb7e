"""A fleet of VmBackups through the real Pulumi CLI: every backup job in flight at once, up to the cap.

The simulator records when each job was submitted and when it was seen done; how many overlapped is what
the user waits for (a fleet in waves of four takes four times as long as one job per four VMs).
"""

from __future__ import annotations

from typing import Any

import pytest
from zstack_simulator import seed

from tests.fixtures.stack import VM_BACKUP_TYPE, ZStackStack

pytestmark = pytest.mark.e2e

# What Pulumi's dynamic-provider host runs at once without the provider widening its pool.
HOST_WORKERS = 4
NOOP_TYPE = "pulumi-python:dynamic:Resource"


def fleet_program(count: int) -> str:
    """`count` VmBackups of the running VM, plus a dynamic resource of the program's own."""
    return f"""
        import pulumi
        import pulumi_zstack as zstack
        from pulumi.dynamic import CreateResult, Resource, ResourceProvider


        class NeighbourProvider(ResourceProvider):
            def create(self, props):
                return CreateResult("neighbour-1", {{"echo": props["message"]}})


        class Neighbour(Resource):
            echo: pulumi.Output[str]

            def __init__(self, name, message):
                super().__init__(NeighbourProvider(), name, {{"message": message, "echo": None}})


        backups = [
            zstack.VmBackup(
                f"vm-{{i}}",
                root_volume_uuid={seed.RUNNING_VM_ROOT_VOLUME_UUID!r},
                backup_storage_uuid={seed.IMAGESTORE_BS_UUID!r},
                name=f"fleet-{{i}}",
            )
            for i in range({count})
        ]
        neighbour = Neighbour("neighbour", "still here")
        pulumi.export("echo", neighbour.echo)
        pulumi.export("statuses", [b.status for b in backups])
    """


def most_in_flight(jobs: list[dict[str, Any]]) -> int:
    """The largest number of jobs that were running at the same moment."""
    # At equal times an end sorts before a start: a job seen done as another is submitted did not overlap.
    events = sorted([(job["doneAt"], -1) for job in jobs] + [(job["submittedAt"], 1) for job in jobs])
    running = most = 0
    for _, change in events:
        running += change
        most = max(most, running)
    return most


def create_jobs(stack: ZStackStack) -> list[dict[str, Any]]:
    jobs = [job for job in stack.simulator.jobs() if job["api"] == "CreateVmBackup"]
    assert all(job["state"] == "done" and job["errorCode"] is None for job in jobs), jobs
    return jobs


def run_fleet(stack: ZStackStack, count: int, job_seconds: float) -> None:
    stack.simulator.settings.job_polls = None
    stack.simulator.settings.job_seconds = job_seconds
    stack.write_program(fleet_program(count))
    stack.run(["up", "--skip-preview", "--parallel", "64"])


def test_every_backup_job_of_a_fleet_is_in_flight_at_once(zstack_stack: ZStackStack) -> None:
    run_fleet(zstack_stack, 12, job_seconds=2.0)

    outputs = zstack_stack.outputs()
    assert outputs["statuses"] == ["Ready"] * 12
    assert len(zstack_stack.live_groups()) == 12
    jobs = create_jobs(zstack_stack)
    assert len(jobs) == 12
    # In waves of four this is 4; with 12 jobs of 2 s each submitted at once, all of them.
    assert most_in_flight(jobs) >= 2 * HOST_WORKERS, sorted((j["submittedAt"], j["doneAt"]) for j in jobs)
    # The program's own dynamic resource shares the widened host and still works.
    assert outputs["echo"] == "still here"
    assert len(zstack_stack.resources(NOOP_TYPE)) == 1
    # One shared session for the whole run, however many operations ran at once.
    assert [r.api for r in zstack_stack.requests()].count("LogInByAccount") == 1


def test_a_cap_below_the_fleet_size_queues_the_rest(zstack_stack: ZStackStack) -> None:
    zstack_stack.set_config({"zstack:maxConcurrentOperations": "3"})
    run_fleet(zstack_stack, 7, job_seconds=1.0)

    assert zstack_stack.outputs()["statuses"] == ["Ready"] * 7
    assert len(zstack_stack.resources(VM_BACKUP_TYPE)) == 7
    jobs = create_jobs(zstack_stack)
    assert len(jobs) == 7
    assert most_in_flight(jobs) <= 3
