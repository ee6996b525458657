"""Test helpers shared by the integration and CLI suites."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from orgkit.plan import Change

READ_PREFIXES = ("Describe", "List", "Get", "AssumeRole")


class RecordingReporter:
    """A Reporter that remembers what apply told it."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def change_started(self, change: Change) -> None:
        self.events.append(("started", change.address, ""))

    def change_done(self, change: Change, detail: str) -> None:
        self.events.append(("done", change.address, detail))

    def progress(self, change: Change, message: str) -> None:
        self.events.append(("progress", change.address, message))


def edit_yaml(path: Path, edit: Any) -> None:
    """Load a YAML file, let ``edit(data)`` change it, write it back."""
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def is_write(operation: str) -> bool:
    """True for AWS operations that change something."""
    return not operation.startswith(READ_PREFIXES)
