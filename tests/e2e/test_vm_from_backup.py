"""VmFromBackup through the real Pulumi CLI against the ZStack simulator.

Each case reads both sides: what the user sees (stack outputs, previews, state) and what ZStack holds (the
VMs the simulator has, and the requests it received).
"""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
from zstack_simulator import seed

from tests.fixtures.stack import ZStackStack
from tests.reliability._cli import dynamic_providers_under, finish_cli, kill_tree, start_cli, wait_for

pytestmark = pytest.mark.e2e

VM_FROM_BACKUP_TYPE = "pulumi-python:dynamic/zstack:VmFromBackup"
RESTORE_PATH = "/zstack/v1/vm-instances/from/vm-backups/*"
RESTORE_API = "CreateVmFromVmBackup"
SEED_VM_PREFIX = "1000000000004000"
SEED_VOLUME_PREFIX = "2000000000004000"


def program(release: str = "1.0", restore: dict[str, object] | None = None) -> str:
    """A VmBackup of the running VM, taken again per release, and a VM restored from it."""
    given: dict[str, object] = {
        "name": "restored",
        "instance_offering_uuid": seed.INSTANCE_OFFERING_UUID,
        "l3_network_uuids": [seed.ISOLATED_L3_NETWORK_UUID],
        "max_poll_interval": "0.5s",
        **(restore or {}),
    }
    arguments = "".join(f", {key}={value!r}" for key, value in given.items())
    return f"""
        import pulumi
        import pulumi_zstack as zstack

        backup = zstack.VmBackup("source", root_volume_uuid={seed.RUNNING_VM_ROOT_VOLUME_UUID!r},
                                 backup_storage_uuid={seed.IMAGESTORE_BS_UUID!r}, name="source",
                                 triggers=[{release!r}])
        vm = zstack.VmFromBackup("restored", group_uuid=backup.group_uuid{arguments})
        pulumi.export("vm", vm.id)
        pulumi.export("group", vm.group_uuid)
        pulumi.export("state", vm.state)
        pulumi.export("root_volume", vm.root_volume_uuid)
        pulumi.export("data_volumes", vm.data_volume_uuids)
        pulumi.export("nics", vm.nics)
        pulumi.export("members", backup.members)
        """


def restored_volumes(stack: ZStackStack) -> set[str]:
    """Every volume ZStack holds (Deleted ones too) but the seed's."""
    found = stack.simulator.query("volumes", None, [])["inventories"]
    return {v["uuid"] for v in found if not v["uuid"].startswith(SEED_VOLUME_PREFIX)}


def restored_vms(stack: ZStackStack) -> list[dict[str, Any]]:
    """Every VM ZStack holds (Destroyed ones too) but the seed's."""
    found = stack.simulator.query("vm-instances", None, [])["inventories"]
    return [vm for vm in found if not vm["uuid"].startswith(SEED_VM_PREFIX)]


def restore_posts(stack: ZStackStack) -> int:
    return sum(1 for r in stack.requests() if r.api == RESTORE_API)


def only_vm(stack: ZStackStack) -> dict[str, Any]:
    vms = restored_vms(stack)
    assert len(vms) == 1, f"ZStack holds {len(vms)} restored VMs: {[v['uuid'] for v in vms]}"
    return vms[0]


def test_restore_replace_and_destroy(zstack_stack: ZStackStack) -> None:
    stack = zstack_stack
    stack.write_program(program())
    stack.up()

    outputs = stack.outputs()
    vm = only_vm(stack)
    assert vm["uuid"] == outputs["vm"]
    assert vm["state"] == outputs["state"] == "Running"
    members = outputs["members"]
    assert outputs["group"] == stack.resources()[0]["outputs"]["group_uuid"]
    assert {v["uuid"] for v in vm["allVolumes"]} == {outputs["root_volume"], *outputs["data_volumes"]}
    assert len(vm["allVolumes"]) == len(members), "one volume per member of the backup"
    original_sizes = sorted(m["size"] for m in members)
    assert sorted(v["actualSize"] for v in vm["allVolumes"]) == original_sizes
    assert [n["l3_network_uuid"] for n in outputs["nics"]] == [seed.ISOLATED_L3_NETWORK_UUID]
    assert outputs["nics"][0]["ip"] == vm["vmNics"][0]["ip"]

    stack.forget_requests()
    stack.run(["preview", "--expect-no-changes"])
    assert stack.writes() == []

    # A new release takes a new backup group, and the VM is restored again from it.
    stack.write_program(program("1.1"))
    preview = stack.preview()
    assert [s["op"] for s in preview.steps(VM_FROM_BACKUP_TYPE)] == ["replace"]
    stack.forget_requests()
    stack.up()
    new = only_vm(stack)
    assert new["uuid"] != vm["uuid"]
    assert new["state"] == "Running"
    assert stack.outputs()["group"] != outputs["group"]
    apis = [r.api for r in stack.writes()]
    assert apis.index(RESTORE_API) < apis.index("DestroyVmInstance") < apis.index("ExpungeVmInstance"), (
        "the new VM is made first, then the old one destroyed and expunged"
    )
    assert apis.count("DeleteDataVolume") == apis.count("ExpungeDataVolume") == len(outputs["data_volumes"])
    assert restored_volumes(stack) == {*stack.outputs()["data_volumes"], stack.outputs()["root_volume"]}, (
        "the old VM's data volumes went with it"
    )

    stack.destroy()
    assert restored_vms(stack) == []
    assert restored_volumes(stack) == set(), "nothing the restores made stays in ZStack"


def test_refresh_notices_a_vm_stopped_or_destroyed_out_of_band(zstack_stack: ZStackStack) -> None:
    stack = zstack_stack
    stack.write_program(program())
    stack.up()
    vm_uuid = stack.outputs()["vm"]

    stack.simulator.set_vm_state(vm_uuid, "Stopped")
    stack.refresh()
    [restored] = stack.resources(VM_FROM_BACKUP_TYPE)
    assert restored["outputs"]["state"] == "Stopped"
    drift = stack.run(["preview", "--expect-no-changes"], check=False)
    assert drift.returncode != 0
    assert [s["op"] for s in stack.preview().steps(VM_FROM_BACKUP_TYPE)] == ["replace"]

    stack.simulator.set_vm_state(vm_uuid, "Destroyed")
    stack.refresh()
    assert stack.resources(VM_FROM_BACKUP_TYPE) == []
    assert [s["op"] for s in stack.preview().steps(VM_FROM_BACKUP_TYPE)] == ["create"]
    stack.up()
    assert stack.outputs()["state"] == "Running"
    running = [v for v in restored_vms(stack) if v["state"] == "Running"]
    assert [v["uuid"] for v in running] == [stack.outputs()["vm"]]


@pytest.mark.parametrize(
    ("restore", "shown"),
    [
        ({"cpu_num": 2}, "cannot be combined with cpu_num"),
        ({"default_l3_network_uuid": seed.L3_NETWORK_UUID}, "must be one of l3_network_uuids"),
        ({"l3_network_uuids": []}, "at least one of l3_network_uuids, zone_uuid"),
        ({"strategy": "Later"}, "strategy must be one of"),
        ({"create_timeout": "soon"}, "create_timeout must be a duration"),
    ],
)
def test_bad_input_is_refused_at_preview_without_a_request(
    zstack_stack: ZStackStack, restore: dict[str, object], shown: str
) -> None:
    stack = zstack_stack
    stack.write_program(program(restore=restore))
    stack.forget_requests()
    done = stack.run(["preview"], check=False)
    assert done.returncode != 0
    assert shown in done.stdout + done.stderr
    assert stack.requests() == []


@pytest.mark.parametrize("killed", ["provider", "whole CLI"])
def test_killed_mid_create_then_up_makes_exactly_one_vm(zstack_stack: ZStackStack, killed: str) -> None:
    """`provider`: the CLI sees the provider vanish and records the create as failed. `whole CLI`: the state
    keeps a pending create and the lock, which `pulumi cancel` and a refresh clear, as the README says."""
    stack = zstack_stack
    sim = stack.simulator
    # Long enough to kill the provider while the restore runs; the job then finishes on its own.
    sim.faults.job_duration(seconds=6.0, method="POST", path=RESTORE_PATH, count=1)
    stack.write_program(program())
    cli = start_cli(stack, ["up", "--skip-preview"])
    try:
        wait_for("ZStack to run the restore", lambda: [j for j in sim.jobs() if j["api"] == RESTORE_API])
        providers = wait_for("the dynamic provider process", lambda: dynamic_providers_under(cli.pid))
        if killed == "provider":
            for pid in providers:
                os.kill(pid, signal.SIGKILL)
        else:
            kill_tree(cli)
    finally:
        interrupted = finish_cli(stack, cli)
    assert interrupted.returncode != 0
    assert stack.resources(VM_FROM_BACKUP_TYPE) == []
    if killed == "whole CLI":
        stack.run(["cancel", "--yes"])
        stack.run(["refresh", "--skip-preview", "--clear-pending-creates"])

    stack.up()
    vm = only_vm(stack)
    assert vm["uuid"] == stack.outputs()["vm"]
    assert vm["state"] == "Running"


def test_a_lost_answer_and_503s_make_exactly_one_vm(zstack_stack: ZStackStack) -> None:
    stack = zstack_stack
    sim = stack.simulator
    sim.faults.lose_response(method="POST", path=RESTORE_PATH, count=1)
    sim.faults.error_503(method="*", path="/zstack/v1/vm-instances*", count=3)
    stack.write_program(program())
    stack.up()
    vm = only_vm(stack)
    assert vm["uuid"] == stack.outputs()["vm"]
    assert vm["state"] == "Running"
    assert all(rule.fired for rule in sim.faults.rules())
    assert sum(1 for j in sim.jobs() if j["api"] == RESTORE_API) == 1
