"""Write what is generated from the property models: ``python -m pulumi_zstack_provider.docs [DIR]``.

The reference page of every resource (into DIR, default ``docs/reference``) and the native plugin's package
schema (``schema.json`` beside this module). `stale` names the committed files that no longer match.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ._docs import PAGES, render_reference
from ._package_schema import package_schema_json

REFERENCE_DIR = Path("docs/reference")
SCHEMA_FILE = Path(__file__).with_name("schema.json")


def render_all() -> dict[str, str]:
    return {
        name: render_reference(model, title, intro) + "\n" for name, (model, title, intro) in PAGES.items()
    }


def generated(reference_dir: Path = REFERENCE_DIR) -> dict[Path, str]:
    """Every generated file and the text it must hold."""
    pages = {reference_dir / name: text for name, text in render_all().items()}
    return {**pages, SCHEMA_FILE: package_schema_json()}


def stale(reference_dir: Path = REFERENCE_DIR) -> list[Path]:
    """The generated files whose committed text differs from what the models give now."""
    return [
        path
        for path, text in generated(reference_dir).items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else REFERENCE_DIR
    target.mkdir(parents=True, exist_ok=True)
    for path, text in generated(target).items():
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
