"""The event schemas of past releases, one directory each (``release-<n>/<event type>.json``)."""

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def releases() -> list[int]:
    """The release numbers kept, oldest first."""
    kept = [d for d in HERE.glob("release-*") if d.is_dir()]
    return sorted(int(d.name.removeprefix("release-")) for d in kept)


def released_schemas(release: int) -> dict[str, dict[str, Any]]:
    """Every event type's schema as ``release`` shipped it."""
    folder = HERE / f"release-{release}"
    if not folder.is_dir():
        raise LookupError(f"no schemas of release {release} (kept: {releases()})")
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def write_release(release: int, schemas: dict[str, dict[str, Any]]) -> Path:
    """Keep ``schemas`` (by event type) as release ``release``'s; the folder written."""
    folder = HERE / f"release-{release}"
    folder.mkdir(exist_ok=True)
    for event_type, schema in schemas.items():
        text = json.dumps(schema, indent=2, sort_keys=True) + "\n"
        (folder / f"{event_type}.json").write_text(text)
    return folder
