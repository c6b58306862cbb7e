"""check and diff of VmBackupSchedule: what preview refuses, and what changes in place or replaces.

Neither may touch ZStack: no server runs here.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_zstack_provider import VmBackupScheduleProvider
from pulumi_zstack_provider._quartz import CronError, check_quartz_cron
from pulumi_zstack_provider._schema import UNKNOWN

pytestmark = pytest.mark.unit

ROOT = "4b2a8c1e9f3d4e5a8b7c6d5e4f3a2b1c"
STORAGE = "9e8d7c6b5a4f4e3d8c2b1a0f9e8d7c6b"
REMOTE = "1e8d7c6b5a4f4e3d8c2b1a0f9e8d7c6b"
VALID: dict[str, Any] = {
    "root_volume_uuid": ROOT,
    "backup_storage_uuids": [STORAGE],
    "name": "nightly",
    "cron": "0 0 2 * * ?",
    "retention_count": 7,
    "owner_stack": "organization/project/dev",
    "owner_urn": "urn:pulumi:dev::project::pulumi-python:dynamic/zstack:VmBackupSchedule::web",
}


@pytest.fixture(autouse=True)
def zstack_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ZSTACK_ACCESS_KEY_ID", "ZSTACK_ACCESS_KEY_SECRET", "ZSTACK_SESSION_ID", "ZSTACK_PORT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ZSTACK_HOST", "127.0.0.1")
    monkeypatch.setenv("ZSTACK_ACCOUNT_NAME", "admin")
    monkeypatch.setenv("ZSTACK_ACCOUNT_PASSWORD", "password")


def check(news: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    result = VmBackupScheduleProvider().check({}, {**news, "__provider": "blob"})
    return result.inputs, {f.property: f.reason for f in result.failures}


def test_a_nightly_schedule_with_local_and_remote_retention_passes() -> None:
    inputs, failures = check(
        {**VALID, "remote_backup_storage_uuid": REMOTE, "remote_retention_days": 30.0, "enabled": False}
    )
    assert failures == {}
    assert inputs["remote_retention_days"] == 30


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"cron": "0 0 2 * * *"}, "cron", "exactly one of day-of-month and day-of-week must be '?'"),
        ({"cron": "0 0 25 * * ?"}, "cron", "hours field: 25 is outside 0 to 23"),
        ({"cron": "0 0 2 * * ? 2030"}, "cron", "exactly 6 fields"),
        ({"full_backup_cron": "nightly"}, "full_backup_cron", "exactly 6 fields"),
        (
            {"interval_seconds": 3600},
            "cron",
            "set exactly one of `cron` and `interval_seconds` (when runs happen); both are set",
        ),
        ({"cron": None}, "cron", "neither is set"),
        ({"retention_days": 30}, "retention_count", "both are set"),
        ({"retention_count": None}, "retention_count", "neither is set"),
        ({"remote_backup_storage_uuid": REMOTE}, "remote_retention_count", "neither is set"),
        ({"remote_retention_count": 3}, "remote_retention_count", "needs `remote_backup_storage_uuid`"),
        ({"start_time": 1767225600}, "start_time", "goes with `interval_seconds`"),
        ({"volume_read_bandwidth": 1023}, "volume_read_bandwidth", "at least 1024"),
        ({"network_write_bandwidth": 512}, "network_write_bandwidth", "at least 1024"),
        ({"backup_storage_uuids": []}, "backup_storage_uuids", "at least 1 item"),
        ({"retention_count": 0}, "retention_count", "at least 1"),
        ({"name": ""}, "name", "must not be empty"),
    ],
)
def test_bad_input_fails_check_naming_the_property(
    changes: dict[str, Any], field: str, expected: str
) -> None:
    _, failures = check({k: v for k, v in {**VALID, **changes}.items() if v is not None})
    assert field in failures, failures
    assert expected in failures[field]


def test_rules_between_inputs_wait_for_computed_values() -> None:
    _, failures = check({**{k: v for k, v in VALID.items() if k != "cron"}, "interval_seconds": UNKNOWN})
    assert failures == {}


@pytest.mark.parametrize(
    "expression",
    ["0 0 2 * * ?", "0 */15 * * * ?", "0 0 2 ? * MON-FRI", "0 0 3 L * ?", "0 0 4 ? * 6#3", "0 0 1 15W * ?"],
)
def test_quartz_forms_zstack_runs_are_accepted(expression: str) -> None:
    check_quartz_cron(expression)


@pytest.mark.parametrize(
    "expression", ["0 0  2 * * ?", "0 61 2 * * ?", "0 0 2 32 * ?", "0 0 2 ? * 8", "0 0 2 * 13 ?"]
)
def test_quartz_mistakes_are_refused(expression: str) -> None:
    with pytest.raises(CronError):
        check_quartz_cron(expression)


def diff(olds: dict[str, Any], news: dict[str, Any]) -> tuple[bool, list[str]]:
    result = VmBackupScheduleProvider().diff("job", olds, news)
    return bool(result.changes), list(result.replaces or [])


@pytest.mark.parametrize(
    "changes",
    [
        {"enabled": False},
        {"retention_count": None, "retention_days": 14},
        {"cron": "0 30 1 * * ?"},
        {"cron": None, "interval_seconds": 600},
        {"name": "renamed"},
        {"backup_storage_uuids": [STORAGE, REMOTE]},
        {"remote_backup_storage_uuid": REMOTE, "remote_retention_count": 3},
        {"full_backup_cron": "0 0 3 ? * SUN"},
        {"volume_read_bandwidth": 4096},
        {"delete_backups_on_destroy": True},
    ],
)
def test_what_zstack_changes_in_place_is_an_update(changes: dict[str, Any]) -> None:
    changed, replaces = diff(VALID, {**VALID, **changes})
    assert changed
    assert replaces == []


def test_enabling_again_is_an_update_too() -> None:
    assert diff({**VALID, "enabled": False}, VALID) == (True, [])


def test_another_vm_replaces_the_schedule() -> None:
    assert diff(VALID, {**VALID, "root_volume_uuid": STORAGE}) == (True, ["root_volume_uuid"])


def test_unchanged_inputs_are_no_change() -> None:
    assert diff({**VALID, "retention_count": 7.0}, VALID) == (False, [])
