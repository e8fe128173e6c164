"""The README's configuration table lists every setting the code reads, and only those."""

import re
from pathlib import Path

from ecommerce_streams.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def documented_variables() -> set[str]:
    """ES_* names in the first column of the README's configuration table."""
    return set(re.findall(r"^\| `(ES_[A-Z_]+)` \|", README.read_text(), flags=re.MULTILINE))


def test_every_setting_is_documented_in_the_readme() -> None:
    settings = {f"ES_{name.upper()}" for name in Settings.model_fields}
    missing = settings - documented_variables()
    assert not missing, f"README configuration table lacks {sorted(missing)}"


def test_the_readme_documents_no_setting_the_code_ignores() -> None:
    settings = {f"ES_{name.upper()}" for name in Settings.model_fields}
    unknown = documented_variables() - settings
    assert not unknown, f"README documents unknown settings {sorted(unknown)}"
