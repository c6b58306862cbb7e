"""The reference pages are generated from the property models and must match what is committed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi_zstack_provider.docs import render_all

pytestmark = pytest.mark.unit

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"


@pytest.mark.parametrize(("name", "text"), sorted(render_all().items()))
def test_committed_reference_is_current(name: str, text: str) -> None:
    committed = (REFERENCE / name).read_text(encoding="utf-8")
    assert committed == text, f"docs/reference/{name} is stale: run `python -m pulumi_zstack_provider.docs`"


def test_reference_lists_every_input_with_its_replace_behaviour() -> None:
    page = render_all()["vm_backup.md"]
    assert "| `root_volume_uuid` | `str` | required, replaces on change |" in page
    assert "| `create_timeout` |" in page.split("## Operation settings")[1]
    assert "| `backup_name` |" in page.split("## Outputs")[1]
