"""The VmBackup resource through the real Pulumi CLI against the ZStack simulator.

Each test checks one behaviour twice: as the user sees it (preview plans, stack outputs, state) and as
ZStack holds it (backup groups and the requests the simulator received).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import dill
import httpx
import pytest
from pulumi_zstack_provider.providers import VmBackupProvider
from zstack_simulator import RunningSimulator, seed, sha512_hex

from tests.fixtures.ownership import check_ownership
from tests.fixtures.stack import ADMIN_PASSWORD, VM_BACKUP_TYPE, ZStackStack

pytestmark = pytest.mark.e2e

ROOT_VOLUME = seed.RUNNING_VM_ROOT_VOLUME_UUID
# The running VM's root and data volumes; its shareable volume is never part of a VM backup.
BACKED_UP_VOLUMES = {ROOT_VOLUME, *seed.RUNNING_VM_DATA_VOLUME_UUIDS}
# ZStack appends java.sql.Timestamp.toString() to the name it is given.
SERVER_TIMESTAMP = r"-\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?"
EXPORTED = (
    "group_uuid",
    "name",
    "description",
    "root_volume_uuid",
    "backup_storage_uuid",
    "vm_instance_uuid",
    "backup_name",
    "status",
    "members",
    "total_size",
)
EXPORTS = "\n".join(f"pulumi.export({key!r}, backup.{key})" for key in ("id", *EXPORTED))
# The key Pulumi uses to mark a secret value in state.
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"


def program(**inputs: object) -> str:
    """A program with one VmBackup `nightly` of the running VM, exporting what a user looks at."""
    given: dict[str, object] = {
        "root_volume_uuid": ROOT_VOLUME,
        "backup_storage_uuid": seed.IMAGESTORE_BS_UUID,
        "name": "nightly",
        **inputs,
    }
    arguments = ", ".join(f"{key}={value!r}" for key, value in given.items())
    return (
        "import pulumi\nimport pulumi_zstack as zstack\n\n"
        f"backup = zstack.VmBackup('nightly', {arguments})\n{EXPORTS}\n"
    )


def adopting_program(group_uuid: str) -> str:
    return (
        "import pulumi\nimport pulumi_zstack as zstack\n\n"
        f"backup = zstack.VmBackup.get('adopted', {group_uuid!r})\n{EXPORTS}\n"
    )


def volumes_of(members: list[dict[str, Any]], key: str) -> list[str]:
    return sorted(str(member[key]) for member in members)


def only_group(stack: ZStackStack) -> tuple[str, list[dict[str, Any]]]:
    groups = stack.live_groups()
    assert len(groups) == 1, f"ZStack holds {len(groups)} backup groups: {sorted(groups)}"
    return next(iter(groups.items()))


# -------------------- plan and create


def test_preview_of_a_new_backup_plans_one_create_and_sends_nothing_to_zstack(
    zstack_stack: ZStackStack,
) -> None:
    zstack_stack.write_program(program())

    preview = zstack_stack.preview()

    assert [step["op"] for step in preview.steps()] == ["create"]
    assert set(preview.summary) == {"create"}, "only the stack and the backup are created"
    planned = preview.steps()[0]["newState"]["inputs"]
    assert (planned["name"], planned["root_volume_uuid"]) == ("nightly", ROOT_VOLUME)
    assert zstack_stack.requests() == []
    assert zstack_stack.live_groups() == {}


def test_up_creates_a_group_with_one_ready_member_per_volume_and_exports_it(
    zstack_stack: ZStackStack,
) -> None:
    zstack_stack.write_program(program())

    zstack_stack.up()

    outputs = zstack_stack.outputs()
    group_uuid, held = only_group(zstack_stack)
    assert outputs["id"] == outputs["group_uuid"] == group_uuid
    assert volumes_of(held, "volumeUuid") == sorted(BACKED_UP_VOLUMES)
    assert {backup["status"] for backup in held} == {"Ready"}

    members = outputs["members"]
    assert volumes_of(members, "volume_uuid") == sorted(BACKED_UP_VOLUMES)
    assert members[0]["volume_uuid"] == ROOT_VOLUME, "the root backup comes first"
    assert sorted(m["uuid"] for m in members) == sorted(b["uuid"] for b in held)
    assert {m["status"] for m in members} == {"Ready"}
    assert outputs["status"] == "Ready"
    assert outputs["vm_instance_uuid"] == seed.RUNNING_VM_UUID
    assert outputs["total_size"] == sum(int(b["size"]) for b in held) > 0

    root_backup = next(b for b in held if b["volumeUuid"] == ROOT_VOLUME)
    assert outputs["backup_name"] == root_backup["name"]
    assert re.fullmatch("nightly" + SERVER_TIMESTAMP, outputs["backup_name"])
    assert outputs["name"] == "nightly"
    # The backup, then the owner tag that names the resource holding it (see README, "Taking backups again").
    assert [r.api for r in zstack_stack.writes()] == ["CreateVmBackup", "CreateUserTag"]
    found = check_ownership(zstack_stack)  # one owner tag, with the claim the state keeps
    (resource_urn,) = found.backups
    assert resource_urn == f"urn:pulumi:e2e::zstack-e2e::{VM_BACKUP_TYPE}::nightly"
    assert [tag.urn for tag in found.owner_tags(group_uuid)] == [resource_urn]
    assert len(root_backup["userTags"]) == 1


def test_a_backup_declared_inside_components_is_tagged_with_its_full_urn(zstack_stack: ZStackStack) -> None:
    arguments = f"root_volume_uuid={ROOT_VOLUME!r}, backup_storage_uuid={seed.IMAGESTORE_BS_UUID!r}"
    zstack_stack.write_program(
        f"""
        import pulumi
        import pulumi_zstack as zstack


        class Group(pulumi.ComponentResource):
            def __init__(self, type_token, name, opts=None):
                super().__init__(type_token, name, None, opts)


        outer = Group("acme:ops:Site", "site")
        inner = Group("acme:ops:Vm", "web", pulumi.ResourceOptions(parent=outer))
        for parent in (outer, inner):  # one name twice: the URNs tell the two backups apart
            options = pulumi.ResourceOptions(parent=parent)
            zstack.VmBackup("nightly", {arguments}, name="nightly", opts=options)
        """
    )

    zstack_stack.up()

    urns = sorted(r["urn"] for r in zstack_stack.resources())
    assert urns == [
        f"urn:pulumi:e2e::zstack-e2e::acme:ops:Site$acme:ops:Vm${VM_BACKUP_TYPE}::nightly",
        f"urn:pulumi:e2e::zstack-e2e::acme:ops:Site${VM_BACKUP_TYPE}::nightly",
    ]
    found = check_ownership(zstack_stack)
    assert len(found.groups) == 2
    for resource_urn, outputs in found.backups.items():
        assert [tag.urn for tag in found.owner_tags(outputs["group_uuid"])] == [resource_urn]
    assert zstack_stack.preview().summary == {}

    zstack_stack.destroy()
    assert zstack_stack.live_groups() == {}


# -------------------- no spurious diffs


def _reserialised_provider_state(document: dict[str, Any]) -> str:
    """Put a different, equivalent pickle of VmBackupProvider into every VmBackup of `document`."""
    blob = base64.b64encode(dill.dumps(VmBackupProvider(), protocol=2)).decode()
    assert isinstance(dill.loads(base64.b64decode(blob)), VmBackupProvider)  # noqa: S301 - our own pickle
    for resource in document["deployment"]["resources"]:
        if resource["type"] == VM_BACKUP_TYPE:
            assert resource["inputs"]["__provider"] != blob, "the new blob must differ from the old one"
            resource["inputs"]["__provider"] = resource["outputs"]["__provider"] = blob
    return blob


@pytest.mark.parametrize("before", ["nothing", "refresh", "new provider code"])
def test_an_unchanged_program_previews_no_changes(zstack_stack: ZStackStack, before: str) -> None:
    """A second preview is quiet: right after `up`, after a `refresh`, and after the provider code changed.

    "New provider code" is modelled by editing the state (`stack export`, `stack import`) so that each
    VmBackup's `__provider` is a protocol-2 pickle of `VmBackupProvider()` while the program sends the
    SDK's usual protocol-4 one. The SDK pickles the provider class by reference, so upgrading
    pulumi_zstack alone leaves the bytes unchanged; what does change them in practice is a new dill or
    Pulumi SDK (pickle protocol, pickler settings), i.e. exactly this: same class, different bytes. The
    engine then diffs an old blob against a new one, as after any toolchain upgrade.
    """
    zstack_stack.write_program(program())
    zstack_stack.up()
    group_uuid, _ = only_group(zstack_stack)
    if before == "refresh":
        zstack_stack.refresh()
    elif before == "new provider code":
        document = zstack_stack.export()
        blob = _reserialised_provider_state(document)
        zstack_stack.import_state(document)
        assert [r["outputs"]["__provider"] for r in zstack_stack.resources()] == [blob]
    zstack_stack.forget_requests()

    preview = zstack_stack.preview()

    assert preview.summary == {}
    assert [step["op"] for step in preview.steps()] == ["same"]
    assert zstack_stack.writes() == []
    assert list(zstack_stack.live_groups()) == [group_uuid]
    assert [r["id"] for r in zstack_stack.resources()] == [group_uuid]


# -------------------- replace, drift, destroy


def test_changing_the_name_replaces_the_backup_with_a_new_group(zstack_stack: ZStackStack) -> None:
    zstack_stack.write_program(program())
    zstack_stack.up()
    old_group, _ = only_group(zstack_stack)
    zstack_stack.write_program(program(name="weekly"))
    zstack_stack.forget_requests()

    preview = zstack_stack.preview()

    assert [(step["op"], step.get("replaceReasons")) for step in preview.steps()] == [("replace", ["name"])]
    assert zstack_stack.writes() == []

    zstack_stack.up()

    new_group, held = only_group(zstack_stack)
    outputs = zstack_stack.outputs()
    assert new_group != old_group
    assert outputs["group_uuid"] == new_group
    assert re.fullmatch("weekly" + SERVER_TIMESTAMP, outputs["backup_name"])
    assert volumes_of(held, "volumeUuid") == sorted(BACKED_UP_VOLUMES)
    writes = [(r.api, r.path) for r in zstack_stack.writes()]
    assert writes == [
        ("CreateVmBackup", f"/zstack/v1/volumes/{ROOT_VOLUME}/vm-backups"),
        ("CreateUserTag", "/zstack/v1/user-tags"),
        ("DeleteVmBackup", f"/zstack/v1/vm-backups/{old_group}"),
    ], "the new backup is made (and tagged) before the old one is deleted"
    assert check_ownership(zstack_stack).orphans == {}


def test_a_backup_deleted_outside_pulumi_leaves_the_stack_on_refresh_and_comes_back_on_up(
    zstack_stack: ZStackStack,
) -> None:
    zstack_stack.write_program(program())
    zstack_stack.up()
    group_uuid, held = only_group(zstack_stack)
    assert zstack_stack.simulator.delete_backup_group(group_uuid) == len(held)

    zstack_stack.refresh()

    assert zstack_stack.resources() == []
    assert zstack_stack.live_groups() == {}

    zstack_stack.up()

    again, held_again = only_group(zstack_stack)
    assert zstack_stack.outputs()["group_uuid"] == again
    assert [r["id"] for r in zstack_stack.resources()] == [again]
    assert volumes_of(held_again, "volumeUuid") == sorted(BACKED_UP_VOLUMES)
    assert {backup["status"] for backup in held_again} == {"Ready"}
    assert check_ownership(zstack_stack).orphans == {}


def test_destroy_deletes_the_group_from_zstack_and_empties_the_stack(zstack_stack: ZStackStack) -> None:
    zstack_stack.write_program(program())
    zstack_stack.up()
    group_uuid, _ = only_group(zstack_stack)
    zstack_stack.forget_requests()

    zstack_stack.destroy()

    assert zstack_stack.live_groups() == {}
    assert [b for b in zstack_stack.simulator.backups() if b["groupUuid"] == group_uuid] == []
    assert [(r.api, r.path) for r in zstack_stack.writes()] == [
        ("DeleteVmBackup", f"/zstack/v1/vm-backups/{group_uuid}")
    ]
    assert zstack_stack.export()["deployment"].get("resources") in (None, [])
    assert zstack_stack.outputs() == {}


# -------------------- adopt


def _make_group_outside_pulumi(zstack: RunningSimulator, *, name: str, description: str) -> str:
    """CreateVmBackup through ZStack's REST API, as another tool would; returns the new group's uuid."""
    with httpx.Client(base_url=zstack.api_url, timeout=10.0) as http:
        login = http.put(
            "/accounts/login",
            json={
                "logInByAccount": {
                    "accountName": seed.ADMIN_ACCOUNT_NAME,
                    "password": sha512_hex(ADMIN_PASSWORD),
                }
            },
        )
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"OAuth {login.json()['inventory']['uuid']}"}
        params = {"name": name, "description": description, "backupStorageUuid": seed.IMAGESTORE_BS_UUID}
        submitted = http.post(f"/volumes/{ROOT_VOLUME}/vm-backups", headers=auth, json={"params": params})
        assert submitted.status_code == 202, submitted.text
        # `location` names the node's internal address; the job is polled through the address we reach.
        job = submitted.json()["location"].rsplit("/", 1)[-1]
        for _ in range(50):
            polled = http.get(f"/api-jobs/{job}")
            if polled.status_code != 202:
                break
            time.sleep(0.1)
        assert polled.status_code == 200, polled.text
    groups = {str(inventory["groupUuid"]) for inventory in polled.json()["inventories"]}
    assert len(groups) == 1
    return groups.pop()


def test_get_adopts_a_group_made_outside_pulumi_and_recovers_its_inputs(zstack_stack: ZStackStack) -> None:
    group_uuid = _make_group_outside_pulumi(
        zstack_stack.zstack, name="made-by-hand", description="taken before the migration"
    )
    _, held = only_group(zstack_stack)
    zstack_stack.forget_requests()
    zstack_stack.write_program(adopting_program(group_uuid))

    zstack_stack.up()

    outputs = zstack_stack.outputs()
    root_backup = next(b for b in held if b["volumeUuid"] == ROOT_VOLUME)
    assert outputs["id"] == outputs["group_uuid"] == group_uuid
    assert outputs["name"] == "made-by-hand"
    assert outputs["backup_name"] == root_backup["name"]
    assert re.fullmatch("made-by-hand" + SERVER_TIMESTAMP, outputs["backup_name"])
    assert outputs["description"] == "taken before the migration"
    assert outputs["root_volume_uuid"] == ROOT_VOLUME
    assert outputs["backup_storage_uuid"] == seed.IMAGESTORE_BS_UUID
    assert outputs["status"] == "Ready"
    assert volumes_of(outputs["members"], "volume_uuid") == sorted(BACKED_UP_VOLUMES)
    assert outputs["total_size"] == sum(int(b["size"]) for b in held)
    assert zstack_stack.writes() == []
    assert only_group(zstack_stack) == (group_uuid, held)


def test_a_group_adopted_with_group_uuid_outlives_the_resource_it_came_from(
    zstack_stack: ZStackStack,
) -> None:
    zstack_stack.write_program(program())
    zstack_stack.up()
    group_uuid, held = only_group(zstack_stack)
    adopting = program(group_uuid=group_uuid).replace("VmBackup('nightly'", "VmBackup('kept'")
    zstack_stack.write_program(adopting)
    zstack_stack.forget_requests()

    zstack_stack.up()  # creates `kept` on the same group, then deletes `nightly` from the stack

    still, members = only_group(zstack_stack)
    assert (still, sorted(m["uuid"] for m in members)) == (group_uuid, sorted(m["uuid"] for m in held))
    assert "CreateVmBackup" not in [r.api for r in zstack_stack.writes()]
    assert "DeleteVmBackup" not in [r.api for r in zstack_stack.writes()]
    found = check_ownership(zstack_stack)
    (kept,) = found.backups
    assert kept.endswith("::kept")
    assert found.id_of("kept") == group_uuid
    assert [tag.urn for tag in found.owner_tags(group_uuid)] == [kept], "the owner tag moved to the adopter"
    assert found.orphans == {}

    zstack_stack.destroy()
    assert zstack_stack.live_groups() == {}


# -------------------- secrets


def _secret_free(value: Any) -> Any:
    """`value` without the values Pulumi stores encrypted (shown decrypted by `--show-secrets`)."""
    if isinstance(value, dict):
        if SECRET_SIGNATURE in value:
            return "[secret]"
        return {key: _secret_free(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_secret_free(item) for item in value]
    return value


def _provider_blobs(document: dict[str, Any]) -> Iterator[bytes]:
    for resource in document["deployment"]["resources"]:
        if resource["type"] != VM_BACKUP_TYPE:
            continue
        for side in ("inputs", "outputs"):
            blob = resource[side]["__provider"]
            if isinstance(blob, dict):  # a secret, as --show-secrets shows it
                blob = json.loads(blob["plaintext"])
            try:
                yield base64.b64decode(blob, validate=True)
            except binascii.Error:
                pytest.fail(f"__provider of {resource['urn']} is not base64")


@pytest.mark.parametrize("auth", ["account password", "access key"])
def test_state_and_cli_output_hold_no_credentials(zstack_stack: ZStackStack, auth: str) -> None:
    """`stack export` never shows a credential in plain text, and `__provider` holds none at all.

    With `--show-secrets`, the credentials appear only as the decrypted Pulumi secrets of the stack
    config, which the engine records as the inputs of the default dynamic provider: Pulumi's own
    behaviour for every dynamic provider, not something the VmBackup code can avoid."""
    if auth == "access key":
        zstack_stack.use_access_key()
    zstack_stack.write_program(program())
    zstack_stack.up()
    issued_sessions = zstack_stack.simulator.issued_session_ids
    secrets: dict[str, str]
    if auth == "access key":
        secrets = {"access key secret": seed.ACCESS_KEY_SECRET}
        assert issued_sessions == ()
        assert {r.auth for r in zstack_stack.requests() if r.api != "QueryJob"} == {"ZStack"}
    else:
        assert issued_sessions, "the provider logged in, so there is a session id to look for"
        secrets = {"account password": ADMIN_PASSWORD, "password hash": sha512_hex(ADMIN_PASSWORD)}
        secrets |= {f"session id #{n}": session for n, session in enumerate(issued_sessions, 1)}

    exported = zstack_stack.export()
    cli_output = "".join(zstack_stack.transcript)
    revealed = zstack_stack.export(show_secrets=True)

    backups = [r for r in revealed["deployment"]["resources"] if r["type"] == VM_BACKUP_TYPE]
    assert len(backups) == 1
    blobs = list(_provider_blobs(revealed))  # decrypted, should the blob ever be stored as a secret
    assert len(blobs) == 2, "the VmBackup's inputs and outputs each hold the provider"
    # Only the names of leaked credentials reach the assertion, so a failure does not print them.
    in_export = _leaked(secrets, json.dumps(exported))
    outside_pulumi_secrets = _leaked(secrets, json.dumps(_secret_free(revealed)))
    in_backup_state = _leaked(secrets, json.dumps(backups))
    in_provider_blob = [name for blob in blobs for name in _leaked(secrets, blob)]
    in_cli_output = _leaked(secrets, cli_output)
    assert in_export == []
    assert outside_pulumi_secrets == []
    assert in_backup_state == []
    assert in_provider_blob == []
    assert in_cli_output == []


def _leaked(secrets: dict[str, str], where: str | bytes) -> list[str]:
    """The names of the `secrets` found in `where`."""
    if isinstance(where, bytes):
        return [name for name, value in secrets.items() if value.encode() in where]
    return [name for name, value in secrets.items() if value in where]


# -------------------- validation


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        pytest.param(
            "root_volume_uuid",
            "not-a-uuid",
            "root_volume_uuid must be a ZStack UUID",
            id="malformed-root-volume-uuid",
        ),
        pytest.param("name", "x" * 256, "name must be at most 255 characters, got 256", id="256-char-name"),
    ],
)
def test_bad_input_fails_preview_naming_the_field_and_zstack_receives_nothing(
    zstack_stack: ZStackStack, field: str, value: str, reason: str
) -> None:
    zstack_stack.write_program(program(**{field: value}))

    preview = zstack_stack.run(["preview"], check=False)

    assert preview.returncode != 0
    shown = preview.stdout + preview.stderr
    assert f"property {field} value" in shown
    assert f"has a problem: {reason}" in shown
    assert zstack_stack.requests() == []
    assert zstack_stack.live_groups() == {}
