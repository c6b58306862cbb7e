"""check and diff of VmBackup, driven by the schema; neither may touch ZStack."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.output import Unknown
from pulumi_zstack_provider import Role, VmBackupProperties, VmBackupProvider
from pulumi_zstack_provider._schema import UNKNOWN

pytestmark = pytest.mark.unit

ROOT = "4b2a8c1e9f3d4e5a8b7c6d5e4f3a2b1c"
STORAGE = "9e8d7c6b5a4f4e3d8c2b1a0f9e8d7c6b"
# What the SDK adds to every declaration: who owns the resource.
OWNER = {
    "owner_stack": "organization/backups/dev",
    "owner_urn": "urn:pulumi:dev::backups::pulumi-python:dynamic/zstack:VmBackup::nightly",
}
VALID = {"root_volume_uuid": ROOT, "backup_storage_uuid": STORAGE, "name": "nightly", **OWNER}


@pytest.fixture(autouse=True)
def zstack_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "ZSTACK_HOST",
        "ZSTACK_ACCOUNT_NAME",
        "ZSTACK_ACCOUNT_PASSWORD",
        "ZSTACK_ACCESS_KEY_ID",
        "ZSTACK_ACCESS_KEY_SECRET",
        "ZSTACK_SESSION_ID",
        "ZSTACK_PORT",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ZSTACK_HOST", "127.0.0.1")
    monkeypatch.setenv("ZSTACK_ACCOUNT_NAME", "admin")
    monkeypatch.setenv("ZSTACK_ACCOUNT_PASSWORD", "password")


def check(news: dict[str, Any], olds: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    result = VmBackupProvider().check(olds or {}, {**news, "__provider": "blob"})
    return result.inputs, {f.property: f.reason for f in result.failures}


def test_valid_inputs_pass_and_numbers_from_the_engine_become_integers() -> None:
    inputs, failures = check({**VALID, "volume_read_bandwidth": 2048.0, "size": None})
    assert failures == {}
    assert inputs["volume_read_bandwidth"] == 2048
    assert isinstance(inputs["volume_read_bandwidth"], int)
    assert "size" not in inputs


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("root_volume_uuid", "not-a-uuid", "32 lowercase hex"),
        ("root_volume_uuid", "4b2a8c1e-9f3d-4e5a-8b7c-6d5e4f3a2b1c", "4b2a8c1e9f3d4e5a8b7c6d5e4f3a2b1c"),
        ("backup_storage_uuid", ROOT.upper(), "32 lowercase hex"),
        ("name", "", "must not be empty"),
        ("name", "n" * 256, "at most 255 characters, got 256"),
        ("description", "d" * 2049, "at most 2048 characters, got 2049"),
        ("mode", "incremental", "one of 'auto' or 'full'"),
        ("volume_read_bandwidth", 1023, "at least 1024"),
        ("network_write_bandwidth", 2048.5, "whole number"),
        ("volume_write_bandwidth", "fast", "whole number"),
        ("create_timeout", "soon", "duration"),
        ("max_poll_interval", "-5s", "duration"),
        ("system_tags", "not-a-list", "list"),
    ],
)
def test_each_bad_value_is_refused_naming_its_field(field: str, value: Any, expected: str) -> None:
    _, failures = check({**VALID, field: value})
    assert list(failures) == [field]
    assert field in failures[field]
    assert expected in failures[field]


def test_missing_required_inputs_are_each_named() -> None:
    _, failures = check({"description": "x", **OWNER})
    assert set(failures) == {"root_volume_uuid", "backup_storage_uuid", "name"}
    assert all("is required" in reason for reason in failures.values())


def test_a_declaration_without_its_owner_is_refused_before_anything_is_made() -> None:
    # Without them the provider could not choose the group's id nor write its owner tag.
    _, failures = check({k: v for k, v in VALID.items() if k not in OWNER})
    assert failures == {"owner_stack": "owner_stack is required", "owner_urn": "owner_urn is required"}


def test_unknown_property_and_output_set_by_user_are_refused() -> None:
    _, failures = check({**VALID, "colour": "blue", "backup_name": "mine"})
    assert "not a property of VmBackup" in failures["colour"]
    assert "computed by ZStack" in failures["backup_name"]


@pytest.mark.parametrize("unknown", [Unknown(), UNKNOWN], ids=["as-deserialised-by-the-host", "marker"])
def test_values_unknown_during_preview_are_not_validated_yet(unknown: Any) -> None:
    inputs, failures = check({**VALID, "root_volume_uuid": unknown, "name": unknown})
    assert failures == {}
    assert inputs["root_volume_uuid"] is unknown


def test_unknown_value_as_deserialised_by_the_host_means_replace() -> None:
    assert diff(state_of(), {**VALID, "name": Unknown()}) == (True, ["name"])


def test_missing_configuration_fails_check_naming_key_and_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZSTACK_HOST")
    _, failures = check(VALID)
    assert "zstack:host" in failures
    assert "ZSTACK_HOST" in failures["zstack:host"]


def test_invalid_concurrent_operation_limit_fails_check_naming_key_and_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZSTACK_MAX_CONCURRENT_OPERATIONS", "lots")
    _, failures = check(VALID)
    assert "zstack:maxConcurrentOperations" in failures
    assert "ZSTACK_MAX_CONCURRENT_OPERATIONS" in failures["zstack:maxConcurrentOperations"]


def state_of(**overrides: Any) -> dict[str, Any]:
    """Old outputs as the engine stores them: inputs, settings, outputs and the pickled provider."""
    return {
        **VALID,
        "group_uuid": "a" * 32,
        "backup_name": "nightly-2026-11-26 10:00:00.123",
        "status": "Ready",
        "size": 1073741824,
        "__provider": "old-blob",
        **overrides,
    }


def diff(olds: dict[str, Any], news: dict[str, Any]) -> tuple[bool | None, list[str]]:
    result = VmBackupProvider().diff("a" * 32, olds, {**news, "__provider": "new-blob"})
    return result.changes, result.replaces or []


def test_no_diff_when_nothing_changed_even_if_provider_code_and_engine_number_types_differ() -> None:
    changes, replaces = diff(state_of(volume_read_bandwidth=4096), {**VALID, "volume_read_bandwidth": 4096.0})
    assert changes is False
    assert replaces == []


def test_server_made_values_never_cause_a_diff() -> None:
    assert diff(state_of(backup_name="renamed by server", size=5), VALID) == (False, [])


@pytest.mark.parametrize(
    ("field", "new_value"),
    [
        ("name", "weekly"),
        ("root_volume_uuid", "f" * 32),
        ("description", "now described"),
        ("mode", "full"),
        ("volume_read_bandwidth", 8192),
        ("user_tags", ["team::ops"]),
    ],
)
def test_changing_any_zstack_input_replaces(field: str, new_value: Any) -> None:
    assert diff(state_of(), {**VALID, field: new_value}) == (True, [field])


def test_unknown_value_of_an_immutable_input_means_replace() -> None:
    assert diff(state_of(), {**VALID, "backup_storage_uuid": UNKNOWN}) == (True, ["backup_storage_uuid"])


def test_settings_update_in_place_and_group_uuid_never_diffs() -> None:
    assert diff(state_of(), {**VALID, "create_timeout": "2h"}) == (True, [])
    assert diff(state_of(), {**VALID, "group_uuid": "b" * 32}) == (False, [])


def test_a_renamed_stack_or_a_resource_moved_under_a_component_keeps_its_backup() -> None:
    # The owner is recorded at create: a URN that changes later (an alias) or a renamed stack is no change.
    moved = {
        "owner_stack": "organization/backups/production",
        "owner_urn": "urn:pulumi:production::backups::my:Component$pulumi-python:dynamic/zstack:VmBackup::n",
    }
    assert diff(state_of(), {**VALID, **moved}) == (False, [])


def test_empty_string_and_absent_are_the_same_and_tag_order_does_not_matter() -> None:
    assert diff(
        state_of(description=None, system_tags=["a", "b"]),
        {**VALID, "description": "", "system_tags": ["b", "a"]},
    ) == (False, [])


def test_update_records_new_settings_and_keeps_every_output() -> None:
    olds = state_of(create_timeout="1h")
    result = VmBackupProvider().update(
        "a" * 32, olds, {**VALID, "create_timeout": None, "delete_timeout": "5m"}
    )
    assert result.outs is not None
    assert result.outs["delete_timeout"] == "5m"
    assert result.outs["create_timeout"] is None
    assert result.outs["backup_name"] == olds["backup_name"]
    assert result.outs["size"] == olds["size"]


def test_schema_roles_drive_the_provider() -> None:
    replace = {p.name for p in VmBackupProperties.properties() if p.replace}
    settings = {p.name for p in VmBackupProperties.properties_with(Role.SETTING)}
    assert {
        "root_volume_uuid",
        "backup_storage_uuid",
        "name",
        "description",
        "mode",
        "system_tags",
    } <= replace
    assert settings == {"create_timeout", "delete_timeout", "max_poll_interval"}


def test_replacement_for_an_input_change_creates_the_new_backup_first() -> None:
    result = VmBackupProvider().diff(
        "a" * 32, state_of(), {**VALID, "name": "weekly", "group_uuid": "b" * 32}
    )
    assert result.replaces == ["name"]
    assert result.delete_before_replace is False


def test_member_deleted_out_of_band_forces_a_new_backup_made_before_the_broken_one_is_deleted() -> None:
    olds = state_of(missing_members=["20000000000040008000000000000012"])
    result = VmBackupProvider().diff("a" * 32, olds, {**VALID, "group_uuid": "a" * 32})
    assert result.changes is True
    assert result.replaces == ["missing_members"]
    assert result.delete_before_replace is False


@pytest.mark.parametrize(
    ("old", "new", "replaced"),
    [
        (None, None, False),
        (None, [], False),
        (["1.0"], ["1.0"], False),
        ([1], [1.0], False),  # the engine sends every number as a float
        ([{"b": 1, "a": 2}], [{"a": 2, "b": 1}], False),
        (["1.0"], ["1.1"], True),
        (None, ["1.0"], True),
        (["a", "b"], ["b", "a"], True),  # unlike tags, triggers are ordered
        (["a"], ["a", None], True),
    ],
)
def test_a_triggers_change_replaces_the_backup(old: Any, new: Any, replaced: bool) -> None:
    result = VmBackupProvider().diff("a" * 32, state_of(triggers=old), {**VALID, "triggers": new})
    assert (result.replaces == ["triggers"]) is replaced
    assert result.changes is replaced


OFFSITE = "5c4b3a2f1e0d4c9b8a7f6e5d4c3b2a1f"
SECOND_OFFSITE = "6d5c4b3a2f1e4d0c9b8a7f6e5d4c3b2a"


def test_copy_stores_pass_check_and_their_order_does_not_matter() -> None:
    inputs, failures = check({**VALID, "copy_to_backup_storage_uuids": [OFFSITE, SECOND_OFFSITE]})
    assert failures == {}
    assert inputs["copy_to_backup_storage_uuids"] == [OFFSITE, SECOND_OFFSITE]
    olds = state_of(copy_to_backup_storage_uuids=[OFFSITE, SECOND_OFFSITE])
    assert diff(olds, {**VALID, "copy_to_backup_storage_uuids": [SECOND_OFFSITE, OFFSITE]}) == (False, [])


@pytest.mark.parametrize(
    ("stores", "expected"),
    [
        (["not-a-uuid"], "copy_to_backup_storage_uuids.0 must be a ZStack UUID"),
        ([OFFSITE, OFFSITE], f"copy_to_backup_storage_uuids lists {OFFSITE} more than once"),
        (
            [OFFSITE, STORAGE],
            f"copy_to_backup_storage_uuids must not list backup_storage_uuid ({STORAGE})",
        ),
    ],
)
def test_bad_copy_stores_are_refused_at_preview_naming_the_field(stores: list[str], expected: str) -> None:
    _, failures = check({**VALID, "copy_to_backup_storage_uuids": stores})
    assert list(failures) == ["copy_to_backup_storage_uuids"]
    assert expected in failures["copy_to_backup_storage_uuids"]


def test_copy_stores_are_not_judged_against_a_backup_storage_not_known_yet() -> None:
    _, failures = check(
        {**VALID, "backup_storage_uuid": UNKNOWN, "copy_to_backup_storage_uuids": [OFFSITE, STORAGE]}
    )
    assert failures == {}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (None, [OFFSITE]),
        ([OFFSITE], None),
        ([OFFSITE], [SECOND_OFFSITE]),
        ([OFFSITE], [OFFSITE, SECOND_OFFSITE]),
    ],
)
def test_changing_the_copy_stores_updates_the_backup_in_place(old: Any, new: Any) -> None:
    olds = state_of(copy_to_backup_storage_uuids=old)
    assert diff(olds, {**VALID, "copy_to_backup_storage_uuids": new}) == (True, [])


def test_a_pending_copy_shows_as_an_update_until_it_is_made() -> None:
    olds = state_of(copy_to_backup_storage_uuids=[OFFSITE], copy_pending=[OFFSITE])
    declared = {**VALID, "copy_to_backup_storage_uuids": [OFFSITE]}
    assert diff(olds, declared) == (True, [])
    assert diff({**olds, "copy_pending": None}, declared) == (False, [])


def test_copy_stores_never_change_the_id_or_owner_digest_of_what_a_create_makes() -> None:
    plain = VmBackupProperties.model_validate(VALID)
    copied = VmBackupProperties.model_validate({**VALID, "copy_to_backup_storage_uuids": [OFFSITE]})
    assert plain.shaping_inputs() == copied.shaping_inputs()
    assert "copy_to_backup_storage_uuids" not in plain.shaping_inputs()
