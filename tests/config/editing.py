"""Editing a copy of a fixture centre in place, and collecting the problems it has."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config.loader import load_centre
from hotline.vocabulary.problems import ConfigError


class CentreCopy:
    """A copy of a fixture centre under the test's directory, editable in place."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def edit(self, file: str, old: str, new: str) -> None:
        path = self.root / file
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} must occur exactly once in {file}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def append(self, file: str, text: str) -> None:
        path = self.root / file
        path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")

    def write(self, file: str, text: str | bytes) -> None:
        path = self.root / file
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")

    def problems(self) -> list[str]:
        """Every problem line `hotline check` would print; fails if the centre loads."""
        with pytest.raises(ConfigError) as caught:
            load_centre(self.root)
        return [str(p) for p in caught.value.problems]
