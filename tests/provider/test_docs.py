"""What the property models generate (reference pages, package schema) must match what is committed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi_zstack_provider import _vm_backup
from pulumi_zstack_provider.docs import SCHEMA_FILE, generated, render_all, stale

pytestmark = pytest.mark.unit

REPOSITORY = Path(__file__).resolve().parents[2]
REFERENCE = REPOSITORY / "docs" / "reference"
REGENERATE = "run `python -m pulumi_zstack_provider.docs`"


@pytest.mark.parametrize("path", sorted(generated(REFERENCE)), ids=lambda p: p.name)
def test_committed_generated_file_is_current(path: Path) -> None:
    assert path not in stale(REFERENCE), f"{path.relative_to(REPOSITORY)} is stale: {REGENERATE}"


def test_the_schema_file_is_the_one_in_the_provider_package() -> None:
    assert SCHEMA_FILE == REPOSITORY / "provider" / "pulumi_zstack_provider" / "schema.json"


def test_the_drift_check_names_the_schema_when_a_model_changes_and_the_schema_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = next(p for p in _vm_backup.VmBackupProperties.properties() if p.name == "total_size")
    changed = tuple(
        p if p is not spec else type(spec)(**{**spec.__dict__, "description": "Sum of sizes, in KiB."})
        for p in _vm_backup.VmBackupProperties.properties()
    )
    monkeypatch.setattr(_vm_backup.VmBackupProperties, "_property_specs", changed)

    drifted = stale(REFERENCE)

    assert SCHEMA_FILE in drifted
    assert REFERENCE / "vm_backup.md" in drifted
    assert "Sum of sizes, in KiB." in generated(REFERENCE)[SCHEMA_FILE]


def test_reference_lists_every_input_with_its_replace_behaviour() -> None:
    page = render_all()["vm_backup.md"]
    assert "| `root_volume_uuid` | `rootVolumeUuid` | `str` | required, replaces on change |" in page
    assert "| `owner_urn` | (from the URN) |" in page, "the native door takes the owner from the URN"
    assert "| `create_timeout` |" in page.split("## Operation settings")[1]
    assert "| `backup_name` |" in page.split("## Outputs")[1]
