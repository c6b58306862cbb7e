"""Bad input through the real Pulumi CLI: refused as early as it can be, named, and harmless.

A value that is known when the program runs is refused by `pulumi preview`, with the output naming the
field or the `zstack:*` setting. What can only be found out by asking ZStack (credentials, reachability) or
is not known until another resource exists is refused by `pulumi up`, after a preview that did not contact
ZStack. Either way ZStack receives no write, no backup group appears, and the stack's state stays as it was.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from zstack_simulator import seed

from tests.fixtures.stack import VM_BACKUP_TYPE, ZStackStack
from tests.reliability._support import (
    backup_inputs,
    backups_in,
    cli_text,
    closed_port,
    lasting_state,
    list_case,
    note,
    program,
    raw_resource,
    tail,
    vm_backup,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _one_line_per_case(request: pytest.FixtureRequest) -> None:
    list_case(request)


DASHED = "20000000-0000-4000-8000-000000000011"
WRONG_PASSWORD = "Wr0ng-e2e-Pa55-c41d7a"
WRONG_KEY_SECRET = "WrongKeySecret-e2e-0000000000000000000042"
# Stands for the closed port of the `refused_port` fixture in a case's config.
REFUSED_PORT = "<refused port>"
ECHO_TYPE = "pulumi-python:dynamic/test:Echo"


@dataclasses.dataclass(frozen=True)
class Rejected:
    """A program or a config that `pulumi preview` must refuse, and what its output must say."""

    statements: str
    shown: tuple[str, ...]
    config: Mapping[str, str] = dataclasses.field(default_factory=dict)
    unset: tuple[str, ...] = ()


def field_case(field: str, reason: str, **inputs: object) -> Rejected:
    """A VmBackup whose `inputs` make check fail on `field` for `reason`."""
    return Rejected(vm_backup(**inputs), (f"property {field} value", f"has a problem: {reason}"))


def config_case(
    setting: str, reason: str, *, config: Mapping[str, str] | None = None, unset: tuple[str, ...] = ()
) -> Rejected:
    """A valid VmBackup under a stack config that `config` and `unset` make invalid for `reason`."""
    return Rejected(vm_backup(), (f"property {setting} value", reason), dict(config or {}), unset)


def typo_case(statement: str, message: str) -> Rejected:
    """A program that raises at program time: the engine shows the exception."""
    return Rejected(statement, ("Program failed with an unhandled exception", message))


UUID_RULE = "must be a ZStack UUID: 32 lowercase hex characters without dashes"
BANDWIDTH_RULE = "must be a whole number of bytes per second"
DURATION_RULE = "must be a duration such as '90s', '20m' or '1h30m'"

PREVIEW_CASES = [
    # UUIDs
    pytest.param(
        field_case(
            "root_volume_uuid",
            f"root_volume_uuid {UUID_RULE}, e.g. '20000000000040008000000000000011' instead of '{DASHED}'",
            root_volume_uuid=DASHED,
        ),
        id="dashed-root-volume-uuid",
    ),
    pytest.param(
        field_case(
            "backup_storage_uuid",
            f"backup_storage_uuid {UUID_RULE}, got 'E0000000000040008000000000000001'",
            backup_storage_uuid="E0000000000040008000000000000001",
        ),
        id="uppercase-backup-storage-uuid",
    ),
    pytest.param(
        field_case("root_volume_uuid", f"root_volume_uuid {UUID_RULE}", root_volume_uuid="2" * 31),
        id="31-char-root-volume-uuid",
    ),
    pytest.param(
        field_case("backup_storage_uuid", f"backup_storage_uuid {UUID_RULE}", backup_storage_uuid="3" * 33),
        id="33-char-backup-storage-uuid",
    ),
    pytest.param(
        field_case(
            "root_volume_uuid",
            f"root_volume_uuid {UUID_RULE}",
            root_volume_uuid="2000000000004000800000000000001g",
        ),
        id="non-hex-root-volume-uuid",
    ),
    pytest.param(
        field_case("root_volume_uuid", f"root_volume_uuid {UUID_RULE}, got ''", root_volume_uuid=""),
        id="empty-root-volume-uuid",
    ),
    pytest.param(
        field_case(
            "root_volume_uuid",
            f"root_volume_uuid {UUID_RULE}, got ' {seed.RUNNING_VM_ROOT_VOLUME_UUID}'",
            root_volume_uuid=" " + seed.RUNNING_VM_ROOT_VOLUME_UUID,
        ),
        id="space-padded-root-volume-uuid",
    ),
    pytest.param(
        field_case(
            "group_uuid", f"group_uuid {UUID_RULE}", group_uuid="5f0c2b8e-4c1f-4f7a-9d2e-7a1b3c9d0e42"
        ),
        id="dashed-group-uuid",
    ),
    pytest.param(
        field_case(
            "root_volume_uuid",
            "root_volume_uuid input should be a valid string",
            root_volume_uuid=20000000000040008000000000000011,
        ),
        id="number-for-root-volume-uuid",
    ),
    # name, description, mode
    pytest.param(field_case("name", "name must not be empty", name=""), id="empty-name"),
    pytest.param(
        field_case("name", "name must be at most 255 characters, got 256", name="x" * 256), id="256-char-name"
    ),
    pytest.param(
        field_case("name", "name input should be a valid string", name=["nightly"]), id="list-for-name"
    ),
    pytest.param(field_case("name", "name input should be a valid string", name=7), id="number-for-name"),
    pytest.param(field_case("name", "name is required", name=None), id="missing-name"),
    pytest.param(
        field_case(
            "description", "description must be at most 2048 characters, got 2049", description="d" * 2049
        ),
        id="2049-char-description",
    ),
    pytest.param(
        field_case("mode", "mode must be one of 'auto' or 'full', got 'incremental'", mode="incremental"),
        id="unknown-mode",
    ),
    pytest.param(
        field_case("mode", "mode must be one of 'auto' or 'full', got 'FULL'", mode="FULL"),
        id="uppercase-mode",
    ),
    # bandwidths
    pytest.param(
        field_case(
            "volume_read_bandwidth",
            "volume_read_bandwidth must be at least 1024 bytes per second (ZStack's minimum), got 1023",
            volume_read_bandwidth=1023,
        ),
        id="bandwidth-1023",
    ),
    pytest.param(
        field_case(
            "network_write_bandwidth",
            "network_write_bandwidth must be at least 1024 bytes per second (ZStack's minimum), got 0",
            network_write_bandwidth=0,
        ),
        id="bandwidth-0",
    ),
    pytest.param(
        field_case(
            "volume_write_bandwidth",
            f"volume_write_bandwidth {BANDWIDTH_RULE}, got 1024.5",
            volume_write_bandwidth=1024.5,
        ),
        id="fractional-bandwidth",
    ),
    pytest.param(
        field_case(
            "network_read_bandwidth",
            f"network_read_bandwidth {BANDWIDTH_RULE}, got 'fast'",
            network_read_bandwidth="fast",
        ),
        id="string-bandwidth",
    ),
    pytest.param(
        field_case(
            "volume_read_bandwidth",
            f"volume_read_bandwidth {BANDWIDTH_RULE}, got True",
            volume_read_bandwidth=True,
        ),
        id="boolean-bandwidth",
    ),
    # tags
    pytest.param(
        field_case(
            "system_tags", "system_tags input should be a valid list", system_tags={"retention": "7d"}
        ),
        id="dict-for-system-tags",
    ),
    pytest.param(
        field_case("user_tags", "user_tags input should be a valid list", user_tags="nightly"),
        id="string-for-user-tags",
    ),
    pytest.param(
        field_case("system_tags", "system_tags.1 input should be a valid string", system_tags=["ok", 5]),
        id="number-in-system-tags",
    ),
    # provider settings
    pytest.param(
        field_case("create_timeout", f"create_timeout {DURATION_RULE}, got 'soon'", create_timeout="soon"),
        id="unparsable-create-timeout",
    ),
    pytest.param(
        field_case(
            "delete_timeout", "delete_timeout must be a positive duration, got '0s'", delete_timeout="0s"
        ),
        id="zero-delete-timeout",
    ),
    pytest.param(
        field_case(
            "max_poll_interval", f"max_poll_interval {DURATION_RULE}, got '-10s'", max_poll_interval="-10s"
        ),
        id="negative-max-poll-interval",
    ),
    # fields that do not exist or that only ZStack sets
    pytest.param(
        Rejected(
            raw_resource("raw", {**backup_inputs(), "colour": "blue"}),
            ("property colour value", "has a problem: colour is not a property of VmBackup; valid inputs:"),
        ),
        id="unknown-field-raw-provider",
    ),
    pytest.param(
        Rejected(
            raw_resource("raw", {**backup_inputs(), "status": "Ready"}),
            ("property status value", "has a problem: status is computed by ZStack and cannot be set"),
        ),
        id="output-field-raw-provider",
    ),
    pytest.param(
        typo_case(
            vm_backup().replace(")\n", ", **{'colour': 'blue'})\n"),
            "TypeError: VmBackup 'nightly': unknown argument(s) colour; valid ones: root_volume_uuid,",
        ),
        id="unknown-argument-sdk",
    ),
    pytest.param(
        typo_case(
            vm_backup().replace(")\n", ", status='Ready')\n"),
            "TypeError: VmBackup 'nightly': unknown argument(s) status;",
        ),
        id="output-as-argument-sdk",
    ),
    # connection settings
    pytest.param(
        config_case(
            "zstack:host",
            "ZStack host is not set: set the stack config `zstack:host`",
            unset=("zstack:host",),
        ),
        id="no-host",
    ),
    pytest.param(
        config_case(
            "zstack:host",
            "ZStack host from the stack config `zstack:host` must be a host name or IP address only, got "
            "'http://127.0.0.1'",
            config={"zstack:host": "http://127.0.0.1"},
        ),
        id="url-as-host",
    ),
    pytest.param(
        config_case(
            "zstack:port",
            "ZStack port from the stack config `zstack:port` must be an integer from 1 to 65535, got 'abc'",
            config={"zstack:port": "abc"},
        ),
        id="port-abc",
    ),
    pytest.param(
        config_case(
            "zstack:port",
            "must be an integer from 1 to 65535, got '70000': fix `zstack:port`",
            config={"zstack:port": "70000"},
        ),
        id="port-70000",
    ),
    pytest.param(
        config_case(
            "zstack:scheme",
            "must be `http` or `https`, got 'ftp': fix `zstack:scheme`",
            config={"zstack:scheme": "ftp"},
        ),
        id="scheme-ftp",
    ),
    pytest.param(
        config_case(
            "zstack:accountPassword",
            "ZStack account password is not set although ZStack account name is",
            unset=("zstack:accountPassword",),
        ),
        id="account-name-without-password",
    ),
    pytest.param(
        config_case(
            "zstack:accountName",
            "ZStack account name is not set although ZStack account password is",
            unset=("zstack:accountName",),
        ),
        id="password-without-account-name",
    ),
    pytest.param(
        config_case(
            "zstack:accessKeySecret",
            "ZStack access key secret is not set although ZStack access key id is",
            config={"zstack:accessKeyId": seed.ACCESS_KEY_ID},
            unset=("zstack:accountName", "zstack:accountPassword"),
        ),
        id="access-key-id-without-secret",
    ),
    pytest.param(
        config_case(
            "zstack:accessKeyId",
            "No ZStack credentials are set",
            unset=("zstack:accountName", "zstack:accountPassword"),
        ),
        id="no-credentials",
    ),
    pytest.param(
        config_case(
            "zstack:insecure",
            "must be true or false, got 'maybe': fix `zstack:insecure`",
            config={"zstack:insecure": "maybe"},
        ),
        id="insecure-maybe",
    ),
    pytest.param(
        config_case(
            "zstack:caCertFile",
            "ZStack CA certificate file from the stack config `zstack:caCertFile` does not name an existing "
            "file: '/nonexistent/zstack-ca.pem'",
            config={"zstack:caCertFile": "/nonexistent/zstack-ca.pem"},
        ),
        id="missing-ca-cert-file",
    ),
    pytest.param(
        config_case(
            "zstack:requestTimeout",
            "must be a positive number of seconds, got 'soon': fix `zstack:requestTimeout`",
            config={"zstack:requestTimeout": "soon"},
        ),
        id="request-timeout-soon",
    ),
]


def _assert_refused(done: Any, shown: tuple[str, ...]) -> str:
    text = cli_text(done)
    assert done.returncode != 0, tail(text)
    missing = [expected for expected in shown if expected not in text]
    assert not missing, f"the output does not say {missing}:\n{tail(text)}"
    return text


@pytest.mark.parametrize("case", PREVIEW_CASES)
def test_a_known_bad_value_fails_preview_naming_it_and_changes_nothing(
    zstack_stack: ZStackStack, case: Rejected, request: pytest.FixtureRequest
) -> None:
    if case.unset:
        zstack_stack.remove_config(*case.unset)
    if case.config:
        zstack_stack.set_config(dict(case.config))
    zstack_stack.write_program(program(case.statements))
    before = zstack_stack.export()

    preview = zstack_stack.run(["preview"], check=False)

    _assert_refused(preview, case.shown)
    assert zstack_stack.requests() == [], "preview contacted ZStack"
    assert zstack_stack.live_groups() == {}
    assert zstack_stack.export() == before
    note(
        request,
        f"preview exit {preview.returncode}, names {case.shown[0]!r}; 0 requests to ZStack; state same",
    )


# ------------------------------------------------------------------------- refused only when ZStack is asked


@dataclasses.dataclass(frozen=True)
class RefusedAtUp:
    """A config change after which a new backup can only fail at `up`, and what the output must say."""

    shown: tuple[str, ...]
    config: Mapping[str, str] = dataclasses.field(default_factory=dict)
    secret: Mapping[str, str] = dataclasses.field(default_factory=dict)
    unset: tuple[str, ...] = ()
    weekly: Mapping[str, object] = dataclasses.field(default_factory=dict)
    writes: tuple[str, ...] = ()
    """The APIs of the write requests that reach ZStack (besides logging in and out)."""


ACCOUNT = ("zstack:accountName", "zstack:accountPassword")

UP_CASES = [
    pytest.param(
        RefusedAtUp(
            shown=("error ID.1000", "Check the account name and password", "`zstack:accountPassword`"),
            secret={"zstack:accountPassword": WRONG_PASSWORD},
        ),
        id="wrong-password",
    ),
    pytest.param(
        RefusedAtUp(
            shown=("HTTP 403", "wrong accessKey signature", "`zstack:accessKeySecret`"),
            config={"zstack:accessKeyId": seed.ACCESS_KEY_ID},
            secret={"zstack:accessKeySecret": WRONG_KEY_SECRET},
            unset=ACCOUNT,
        ),
        id="wrong-access-key-secret",
    ),
    pytest.param(
        RefusedAtUp(
            shown=("HTTP 403", "access key id: UnknownKeyId00000099 does not existed or disabled"),
            config={"zstack:accessKeyId": "UnknownKeyId00000099"},
            secret={"zstack:accessKeySecret": seed.ACCESS_KEY_SECRET},
            unset=ACCOUNT,
        ),
        id="unknown-access-key-id",
    ),
    pytest.param(
        RefusedAtUp(
            shown=(f"Cannot connect to ZStack at 127.0.0.1:{REFUSED_PORT}", "`zstack:host`, `zstack:port`"),
            config={"zstack:port": REFUSED_PORT},
        ),
        id="unreachable-host",
    ),
    pytest.param(
        RefusedAtUp(
            shown=("SYS.1003", "check the UUIDs in your program"),
            weekly={"root_volume_uuid": "2000000000004000800000000000ffff"},
            writes=("CreateVmBackup",),
        ),
        id="unknown-root-volume",
    ),
]


@pytest.fixture
def refused_port() -> Iterator[int]:
    with closed_port() as port:
        yield port


def _deploy_nightly(stack: ZStackStack) -> str:
    """Run `up` with one backup, `nightly`, under the good config; return its group uuid."""
    stack.write_program(program(vm_backup("nightly")))
    stack.up()
    groups = stack.live_groups()
    assert len(groups) == 1
    return next(iter(groups))


@pytest.mark.parametrize("case", UP_CASES)
def test_a_value_only_zstack_can_refuse_fails_up_and_changes_nothing(
    zstack_stack: ZStackStack, case: RefusedAtUp, refused_port: int, request: pytest.FixtureRequest
) -> None:
    """An existing stack gets a second backup after its config went wrong (or with a volume ZStack lacks)."""
    nightly = _deploy_nightly(zstack_stack)

    def resolve(values: Mapping[str, str]) -> dict[str, str]:
        return {key: value.replace(REFUSED_PORT, str(refused_port)) for key, value in values.items()}

    if case.unset:
        zstack_stack.remove_config(*case.unset)
    if case.config:
        zstack_stack.set_config(resolve(case.config))
    for key, value in case.secret.items():
        zstack_stack.set_secret(key, value)
    zstack_stack.write_program(
        program(vm_backup("nightly"), vm_backup("weekly", name="weekly", **dict(case.weekly)))
    )
    before = zstack_stack.export()
    zstack_stack.forget_requests()

    preview = zstack_stack.preview()

    assert [(s["op"], s["urn"].rsplit("::", 1)[-1]) for s in preview.steps() if s["op"] != "same"] == [
        ("create", "weekly")
    ]
    assert zstack_stack.requests() == [], "preview contacted ZStack"

    up = zstack_stack.run(["up", "--skip-preview"], check=False)

    _assert_refused(up, tuple(text.replace(REFUSED_PORT, str(refused_port)) for text in case.shown))
    assert [r.api for r in zstack_stack.writes()] == list(case.writes)
    assert list(zstack_stack.live_groups()) == [nightly], "ZStack holds a new backup group"
    after = zstack_stack.export()
    assert backups_in(after) == backups_in(before)
    assert lasting_state(after) == lasting_state(before)
    note(
        request,
        f"preview planned the create without contacting ZStack; up exit {up.returncode}, says "
        f"{case.shown[0]!r}; writes {list(case.writes)}; no group; state same",
    )


# ---------------------------------------------------------------------------- unknown at preview, bad at up

# A preview takes a new resource's inputs as its outputs, so the echoed value has another key than the input.
ECHO = """
class _EchoProvider(pulumi.dynamic.ResourceProvider):
    def create(self, props):
        return pulumi.dynamic.CreateResult("echo", {"text": props["text"], "value": props["text"]})


class Echo(pulumi.dynamic.Resource, module="test", name="Echo"):
    value: pulumi.Output[str]

    def __init__(self, name, text):
        super().__init__(_EchoProvider(), name, {"text": text, "value": None})


echo = Echo("name-source", "x" * 256)
"""


def test_a_bad_value_unknown_at_preview_passes_preview_and_fails_up_before_any_post(
    zstack_stack: ZStackStack, request: pytest.FixtureRequest
) -> None:
    """The name comes from another resource's output, unknown until that resource exists."""
    nightly = _deploy_nightly(zstack_stack)
    weekly = vm_backup("weekly").replace("name='nightly'", "name=echo.value")
    assert "name=echo.value" in weekly
    zstack_stack.write_program(program(vm_backup("nightly"), ECHO, weekly))
    before = zstack_stack.export()
    zstack_stack.forget_requests()

    preview = zstack_stack.preview()

    planned = [s for s in preview.steps() if s["op"] != "same"]
    assert [(s["op"], s["urn"].rsplit("::", 1)[-1]) for s in planned] == [("create", "weekly")]
    assert planned[0]["newState"]["inputs"].get("name") in (None, "04da6b54-80e4-46f7-96ec-b56ff0331ba9")
    assert zstack_stack.requests() == [], "preview contacted ZStack"

    up = zstack_stack.run(["up", "--skip-preview"], check=False)

    _assert_refused(
        up, ("property name value", "has a problem: name must be at most 255 characters, got 256")
    )
    assert zstack_stack.writes() == []
    assert list(zstack_stack.live_groups()) == [nightly]
    after = zstack_stack.export()
    assert [r["type"] for r in after["deployment"]["resources"] if r["type"] == ECHO_TYPE] == [ECHO_TYPE]
    assert backups_in(after) == backups_in(before)
    assert lasting_state(after, drop_types=frozenset({ECHO_TYPE})) == lasting_state(before)
    note(
        request, "preview planned the create (name unknown); up refused the 256-char name; no POST; no group"
    )


# ---------------------------------------------------------------------------- update of an existing stack


def test_a_bad_value_in_an_update_fails_preview_and_up_and_leaves_the_backup_alone(
    zstack_stack: ZStackStack, request: pytest.FixtureRequest
) -> None:
    nightly = _deploy_nightly(zstack_stack)
    held = zstack_stack.simulator.backups()
    zstack_stack.write_program(program(vm_backup("nightly", name="n" * 256)))
    before = zstack_stack.export()
    zstack_stack.forget_requests()

    preview = zstack_stack.run(["preview"], check=False)

    shown = ("property name value", "has a problem: name must be at most 255 characters, got 256")
    _assert_refused(preview, shown)
    assert zstack_stack.requests() == [], "preview contacted ZStack"
    assert zstack_stack.export() == before

    up = zstack_stack.run(["up", "--skip-preview"], check=False)

    _assert_refused(up, shown)
    assert zstack_stack.writes() == []
    assert list(zstack_stack.live_groups()) == [nightly]
    assert zstack_stack.simulator.backups() == held
    after = zstack_stack.export()
    assert [r["id"] for r in backups_in(after)] == [nightly]
    assert [r["type"] for r in after["deployment"]["resources"]].count(VM_BACKUP_TYPE) == 1
    assert lasting_state(after) == lasting_state(before)
    note(request, "preview and up refused the 256-char name; the existing backup and its state are untouched")
