"""`pulumi-zstack orphans` finds and removes every kind of object a resource makes, not only backup groups.

Each object is made by its resource's own create, then left out of the state (`pulumi state delete`, or a CLI
killed before the checkpoint): the orphans command must list it with its owner, and `--delete` remove it.
"""

from __future__ import annotations

import argparse
import io
import json
from typing import Any

import pytest
from pulumi_zstack_provider import _orphans
from pulumi_zstack_provider._orphans import BACKUP_GROUP, SCHEDULER_JOB, SCHEDULER_TRIGGER, VM, find_orphans
from pulumi_zstack_provider._resource import OperationContext
from pulumi_zstack_provider._vm_backup import VmBackupProperties, VmBackupResource
from pulumi_zstack_provider._vm_backup_schedule import VmBackupScheduleProperties, VmBackupScheduleResource
from pulumi_zstack_provider._vm_from_backup import VmFromBackupProperties, VmFromBackupResource
from zstack_simulator import RunningSimulator
from zstack_simulator import seed as zseed

pytestmark = pytest.mark.integration

STACK = "organization/fleet/prod"


def urn(kind: str, name: str) -> str:
    return f"urn:pulumi:prod::fleet::pulumi-python:dynamic/zstack:{kind}::{name}"


def make_everything(ctx: OperationContext) -> dict[str, Any]:
    """One backup, a VM restored from it and a schedule, each by its resource, as `up` makes them."""
    owner = {"owner_stack": STACK, "max_poll_interval": "0.2s"}
    group, backup = VmBackupResource().create(
        ctx,
        VmBackupProperties.model_validate(
            {
                **owner,
                "owner_urn": urn("VmBackup", "nightly"),
                "root_volume_uuid": zseed.RUNNING_VM_ROOT_VOLUME_UUID,
                "backup_storage_uuid": zseed.IMAGESTORE_BS_UUID,
                "name": "nightly",
            }
        ),
    )
    vm, _ = VmFromBackupResource().create(
        ctx,
        VmFromBackupProperties.model_validate(
            {
                **owner,
                "owner_urn": urn("VmFromBackup", "drill"),
                "group_uuid": group,
                "name": "drill",
                "instance_offering_uuid": zseed.INSTANCE_OFFERING_UUID,
                "l3_network_uuids": [zseed.ISOLATED_L3_NETWORK_UUID],
            }
        ),
    )
    job, schedule = VmBackupScheduleResource().create(
        ctx,
        VmBackupScheduleProperties.model_validate(
            {
                **owner,
                "owner_urn": urn("VmBackupSchedule", "nightly"),
                "root_volume_uuid": zseed.RUNNING_VM_ROOT_VOLUME_UUID,
                "backup_storage_uuids": [zseed.IMAGESTORE_BS_UUID],
                "name": "nightly",
                "cron": "0 0 2 * * ?",
                "retention_count": 3,
            }
        ),
    )
    return {"group": group, "backup": backup, "vm": vm, "job": job, "trigger": schedule["trigger_uuid"]}


def state_with(*resources: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "resources": [
            {"type": f"pulumi-python:dynamic/zstack:{kind}", "id": rid, "outputs": outputs}
            for kind, rid, outputs in resources
        ]
    }


def test_objects_no_state_references_are_listed_with_their_owner_and_kind(
    ctx: OperationContext, simulator: RunningSimulator
) -> None:
    made = make_everything(ctx)
    found = {(o.kind, o.uuid): o for o in find_orphans(ctx, STACK, {"resources": []})}
    assert set(found) == {
        (BACKUP_GROUP, made["group"]),
        (VM, made["vm"]),
        (SCHEDULER_JOB, made["job"]),
        (SCHEDULER_TRIGGER, made["trigger"]),
    }
    assert found[(VM, made["vm"])].owner_urn == urn("VmFromBackup", "drill")
    assert found[(SCHEDULER_JOB, made["job"])].owner_urn == urn("VmBackupSchedule", "nightly")
    # Referenced by the state: nothing is an orphan; and another stack's objects are never this stack's.
    held = state_with(
        ("VmBackup", made["group"], made["backup"]),
        ("VmFromBackup", made["vm"], {"uuid": made["vm"]}),
        ("VmBackupSchedule", made["job"], {"trigger_uuid": made["trigger"]}),
    )
    assert find_orphans(ctx, STACK, held) == []
    assert find_orphans(ctx, "organization/fleet/staging", {"resources": []}) == []


def test_delete_removes_every_kind_after_yes(
    ctx: OperationContext, simulator: RunningSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = make_everything(ctx)
    config = {
        "zstack:host": simulator.host,
        "zstack:port": str(simulator.port),
        "zstack:accountName": zseed.ADMIN_ACCOUNT_NAME,
        "zstack:accountPassword": zseed.ADMIN_PASSWORD,
    }
    monkeypatch.setattr(_orphans, "read_stack", lambda _stack, _cwd: (STACK, {"resources": []}, config))
    out = io.StringIO()
    args = argparse.Namespace(stack=None, cwd=None, delete=True, yes=True, json=False)
    assert _orphans.run(args, stdin=io.StringIO(), stdout=out) == 0
    assert find_orphans(ctx, STACK, {"resources": []}) == []
    vms = {v["uuid"] for v in ctx.client.query("vm-instances")}
    assert made["vm"] not in vms, "the VM was destroyed and expunged"
    assert not ctx.client.query("scheduler/jobs", f"uuid={made['job']}")
    assert not ctx.client.query("scheduler/triggers", f"uuid={made['trigger']}")
    assert zseed.ADMIN_PASSWORD not in out.getvalue()
    listed = io.StringIO()
    json_args = argparse.Namespace(stack=None, cwd=None, delete=False, yes=False, json=True)
    assert _orphans.run(json_args, stdin=io.StringIO(), stdout=listed) == 0
    assert json.loads(listed.getvalue()) == []


def test_a_stack_of_another_organization_finds_what_the_native_plugin_made_for_it(
    ctx: OperationContext,
) -> None:
    # The native plugin is told no organization: it records `organization/<project>/<stack>`.
    native_urn = "urn:pulumi:prod::fleet::zstack:index:VmBackup::yaml-nightly"
    group, outputs = VmBackupResource().create(
        ctx,
        VmBackupProperties.model_validate(
            {
                "owner_stack": "organization/fleet/prod",
                "owner_urn": native_urn,
                "root_volume_uuid": zseed.RUNNING_VM_ROOT_VOLUME_UUID,
                "backup_storage_uuid": zseed.IMAGESTORE_BS_UUID,
                "name": "yaml-nightly",
                "max_poll_interval": "0.2s",
            }
        ),
    )
    qualified = "acme/fleet/prod"  # the same stack on a backend with organizations

    (orphan,) = _orphans.find_stack_orphans(ctx, qualified, {"resources": []})
    assert (orphan.uuid, orphan.owner_urn) == (group, native_urn)
    held = {"resources": [{"type": "zstack:index:VmBackup", "id": group, "outputs": outputs}]}
    assert _orphans.find_stack_orphans(ctx, qualified, held) == []
    assert _orphans.find_stack_orphans(ctx, "acme/fleet/staging", {"resources": []}) == []
