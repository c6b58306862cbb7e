"""`pulumi-zstack orphans`: what ZStack holds for a stack that the stack's state does not reference.

Backup groups, VMs restored from backups, and scheduler jobs and triggers: an object is the stack's when its
uuid starts with the stack's key (everything a create makes, from the creating request on) or, for a backup
group, its root carries an owner tag naming the stack (adopted groups). A stack's key is looked for under
both names the stack's resources may record: ``<organization>/<project>/<stack>`` (Python programs, through
the dynamic provider) and ``organization/<project>/<stack>`` (every language, through the native plugin,
which the engine tells no organization). The state is read
with `pulumi stack export`; the connection settings with `pulumi config` and the `ZSTACK_*` variables, as
the provider reads them. Secrets are held in memory only: nothing here prints or logs one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from ._backup_group import (
    DEFAULT_DELETE_TIMEOUT,
    BackupGroup,
    Limits,
    WireVolumeBackup,
    delete_group,
    tags_by_resource,
)
from ._client import ConnectionSettings, ZStackError
from ._ownership import OWNER_TAG_PREFIX, stack_key, stack_names
from ._resource import OperationContext

#: The type tokens of pulumi-zstack's resources: the dynamic provider's, and the native plugin's.
RESOURCE_TYPE_PREFIXES = ("pulumi-python:dynamic/zstack:", "zstack:index:")
_ZSTACK_UUID = re.compile(r"^[0-9a-f]{32}$")


class OrphansError(Exception):
    """The command cannot run: what failed, and what to do."""


BACKUP_GROUP = "backup group"
VM = "vm"
SCHEDULER_JOB = "scheduler job"
SCHEDULER_TRIGGER = "scheduler trigger"


@dataclass(frozen=True)
class Orphan:
    kind: str
    uuid: str
    status: str
    members: int
    total_size: int | None
    create_date: str | None
    owner_urn: str | None

    @property
    def deletable(self) -> bool:
        """Not while ZStack is still making or removing it: a job of its own is running."""
        return self.status not in {"Creating", "Starting", "Stopping", "Destroying", "Expunging"}

    def describe(self) -> str:
        owner = self.owner_urn or "no owner tag: a create that never reached the stack"
        if self.kind == BACKUP_GROUP:
            size = f"{self.total_size} bytes" if self.total_size is not None else "size unknown"
            detail = f"{self.members} volume backup(s), {size}, created {self.create_date or '?'}"
        else:
            detail = f"created {self.create_date or '?'}"
        return f"{self.kind} {self.uuid}  {self.status}  {detail}\n    owner: {owner}"

    def as_json(self) -> dict[str, Any]:
        entry = dict(self.__dict__)
        if self.kind == BACKUP_GROUP:
            entry["group_uuid"] = self.uuid
        return entry


def referenced_ids(deployment: Mapping[str, Any]) -> set[str]:
    """Every ZStack uuid the stack's pulumi-zstack resources hold: ids and every uuid in their outputs."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str) and _ZSTACK_UUID.match(value):
            found.add(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    for resource in deployment.get("resources") or []:
        if str(resource.get("type", "")).startswith(RESOURCE_TYPE_PREFIXES):
            walk(resource.get("id"))
            walk(resource.get("outputs"))
    return found


def stack_groups(ctx: OperationContext, stack: str) -> dict[str, list[WireVolumeBackup]]:
    """Every group ZStack holds for `stack` (``organization/project/stack``), with its live members."""
    key = stack_key(stack)
    members: dict[str, list[WireVolumeBackup]] = {}

    def add(inventories: Iterable[Mapping[str, Any]]) -> None:
        for inventory in inventories:
            member = WireVolumeBackup.model_validate(inventory)
            if member.group_uuid and member.status != "Deleted":
                members.setdefault(member.group_uuid, []).append(member)

    add(ctx.client.query("volume-backups", f"groupUuid~={key}%"))
    tagged = ctx.client.query("user-tags", f"tag~={OWNER_TAG_PREFIX}{key}::%")
    roots = sorted({str(t["resourceUuid"]) for t in tagged if t.get("resourceUuid")})
    for start in range(0, len(roots), 50):
        chunk = roots[start : start + 50]
        groups = {
            str(i["groupUuid"])
            for i in ctx.client.query("volume-backups", f"uuid?={','.join(chunk)}")
            if i.get("groupUuid")
        }
        if groups:
            add(ctx.client.query("volume-backups", f"groupUuid?={','.join(sorted(groups))}"))
    return {group: found for group, found in members.items() if found}


def find_orphans(ctx: OperationContext, stack: str, deployment: Mapping[str, Any]) -> list[Orphan]:
    referenced = referenced_ids(deployment)
    groups = {g: m for g, m in stack_groups(ctx, stack).items() if g not in referenced}
    backups = {g: BackupGroup(g, m, None) for g, m in groups.items()}
    key = stack_key(stack)
    others = {
        kind: [i for i in ctx.client.query(resource, f"uuid~={key}%") if str(i.get("uuid")) not in referenced]
        for kind, resource in (
            (VM, "vm-instances"),
            (SCHEDULER_JOB, "scheduler/jobs"),
            (SCHEDULER_TRIGGER, "scheduler/triggers"),
        )
    }
    roots = [b.root.uuid for b in backups.values() if b.root is not None]
    tags = tags_by_resource(ctx, roots + [str(i["uuid"]) for found in others.values() for i in found])

    def owner(uuid: str | None) -> str | None:
        owners = tags[uuid].owners if uuid in tags else ()
        return owners[0].urn if owners else None

    orphans = []
    for group_uuid, group in sorted(backups.items()):
        root = group.root
        orphans.append(
            Orphan(
                kind=BACKUP_GROUP,
                uuid=group_uuid,
                status="Ready" if group.ready else "Creating",
                members=len(group.members),
                total_size=group.total_size,
                create_date=root.create_date if root else None,
                owner_urn=owner(root.uuid if root else None),
            )
        )
    for kind, found in others.items():
        for inventory in sorted(found, key=lambda i: str(i["uuid"])):
            uuid = str(inventory["uuid"])
            status = str(inventory.get("state") or "Enabled")
            created = inventory.get("createDate")
            orphans.append(
                Orphan(kind, uuid, status, 0, None, str(created) if created else None, owner(uuid))
            )
    return orphans


def find_stack_orphans(ctx: OperationContext, qualified: str, deployment: Mapping[str, Any]) -> list[Orphan]:
    """The orphans of the stack `qualified`, under either name its objects may be owned under (a stack run
    by the native plugin records the default organization)."""
    found: dict[str, Orphan] = {}
    for name in stack_names(qualified):
        for orphan in find_orphans(ctx, name, deployment):
            found.setdefault(orphan.uuid, orphan)
    return list(found.values())


def delete_orphan(ctx: OperationContext, orphan: Orphan) -> None:
    limits = Limits.start(DEFAULT_DELETE_TIMEOUT, DEFAULT_DELETE_TIMEOUT, None)
    subject, hint = f"orphaned {orphan.kind} {orphan.uuid}", "Run `pulumi-zstack orphans --delete` again."
    if orphan.kind == BACKUP_GROUP:
        delete_group(ctx, orphan.uuid, limits, subject=subject, hint=hint)
    elif orphan.kind == VM:
        from ._vm_from_backup import remove_vm

        remove_vm(ctx, orphan.uuid, limits, subject=subject, hint=hint)
    else:
        path = "/scheduler/jobs" if orphan.kind == SCHEDULER_JOB else "/scheduler/triggers"
        ctx.run_job(
            "DELETE",
            f"{path}/{orphan.uuid}",
            params={"deleteMode": "Permissive"},
            deadline=limits.deadline,
            operation=f"delete of {subject}",
            timeout_hint=hint,
        )


def _pulumi(args: Sequence[str], cwd: str | None) -> str:
    command = ["pulumi", "--non-interactive", *args]
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, timeout=300)
    except FileNotFoundError:
        raise OrphansError("the `pulumi` CLI is not on PATH; it reads the stack's state and config") from None
    if done.returncode != 0:
        # `pulumi config --show-secrets` never fails after printing a value, so stderr holds no secret.
        raise OrphansError(f"`pulumi {' '.join(args[:2])}` failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def _stack_args(stack: str | None) -> list[str]:
    return ["--stack", stack] if stack else []


def read_stack(stack: str | None, cwd: str | None) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The fully qualified stack name, its deployment and its `zstack:` config (secrets decrypted)."""
    qualified = _pulumi(
        ["stack", "--show-name", "--fully-qualify-stack-names", *_stack_args(stack)], cwd
    ).strip()
    exported = json.loads(_pulumi(["stack", "export", *_stack_args(stack)], cwd))
    config = json.loads(_pulumi(["config", "--json", "--show-secrets", *_stack_args(stack)], cwd))
    zstack = {
        key: value["value"] if isinstance(value["value"], str) else json.dumps(value["value"])
        for key, value in config.items()
        if key.startswith("zstack:") and isinstance(value, Mapping) and "value" in value
    }
    return qualified, dict(exported.get("deployment") or {}), zstack


def _confirm(count: int, stdin: TextIO, stdout: TextIO) -> bool:
    if not stdin.isatty():
        return False
    stdout.write(f"Delete these {count} object(s) from ZStack? Type 'yes' to delete: ")
    stdout.flush()
    return stdin.readline().strip().lower() == "yes"


def run(args: argparse.Namespace, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    from ._client import ZStackClient

    qualified, deployment, config = read_stack(args.stack, args.cwd)
    with ZStackClient(ConnectionSettings.resolve(config, os.environ)) as client:
        ctx = OperationContext(client)
        orphans = find_stack_orphans(ctx, qualified, deployment)
        if args.json:
            json.dump([o.as_json() for o in orphans], stdout, indent=2)
            stdout.write("\n")
        elif not orphans:
            stdout.write(f"No orphans for stack {qualified}.\n")
        else:
            stdout.write(f"{len(orphans)} object(s) ZStack holds for stack {qualified} are in no state:\n")
            for orphan in orphans:
                stdout.write(orphan.describe() + "\n")
        if not args.delete or not orphans:
            return 0
        deletable = [o for o in orphans if o.deletable]
        for orphan in orphans:
            if not orphan.deletable:
                stdout.write(f"Skipping {orphan.kind} {orphan.uuid}: ZStack is still at work on it.\n")
        if not deletable:
            return 0
        if not args.yes and not _confirm(len(deletable), stdin, stdout):
            stdout.write("Nothing deleted (confirm at the prompt, or pass --yes).\n")
            return 1
        # Jobs before their triggers, so no trigger is left firing a job that is being removed.
        order = {SCHEDULER_JOB: 0, SCHEDULER_TRIGGER: 1, VM: 2, BACKUP_GROUP: 3}
        for orphan in sorted(deletable, key=lambda o: order[o.kind]):
            delete_orphan(ctx, orphan)
            stdout.write(f"Deleted {orphan.kind} {orphan.uuid}.\n")
        return 0


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="pulumi-zstack", description="pulumi-zstack maintenance commands.")
    commands = cli.add_subparsers(dest="command", required=True)
    orphans = commands.add_parser(
        "orphans",
        help="list (and delete) what ZStack holds for a stack that its state does not reference",
        description="List the backup groups, restored VMs and scheduler jobs and triggers ZStack holds for a "
        "stack that the stack's state does not reference: attempts interrupted and never retried, and "
        "objects whose stack lost track of them. Run it in the Pulumi project's directory, with the stack's "
        "backend logged in.",
    )
    orphans.add_argument("--stack", "-s", help="the stack (default: the current stack)")
    orphans.add_argument("--cwd", "-C", help="the Pulumi project's directory (default: the current one)")
    orphans.add_argument(
        "--delete", action="store_true", help="delete the orphaned groups after confirmation"
    )
    orphans.add_argument(
        "--yes", "-y", action="store_true", help="with --delete: do not ask for confirmation"
    )
    orphans.add_argument("--json", action="store_true", help="print the orphans as JSON")
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args)
    except (OrphansError, ZStackError) as error:
        print(f"pulumi-zstack: error: {error}", file=sys.stderr)
        return 2
