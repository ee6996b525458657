"""The one error family orgkit raises on purpose.

The CLI prints an :class:`OrgkitError` as its message and hint and exits 1; anything else is a
bug and is shown with its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


class OrgkitError(Exception):
    """An expected failure with a message for the user and an optional hint."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in the input files, located as precisely as we can."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class ConfigError(OrgkitError):
    """org.yaml, an SCP file or a template is invalid; carries every issue found at once."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.file, i.line or 0, i.field))
        count = len(self.issues)
        lines = "\n".join(f"  {issue}" for issue in self.issues)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in the configuration:\n{lines}",
            hint="Fix the files above and run `orgkit validate`.",
        )


class WrongOrganizationError(OrgkitError):
    """The caller's credentials belong to another management account than org.yaml's."""


class SafetyError(OrgkitError):
    """A refusal to go on because going on could do harm (stale plan, missing flag)."""


class AwsError(OrgkitError):
    """An AWS call failed in a way the user must act on."""


class AccountCreationError(AwsError):
    """CreateAccount ended FAILED; the reason is AWS's FailureReason."""


class Interrupted(OrgkitError):
    """The user stopped orgkit (Ctrl-C) between two steps: what was done is said."""


def did_you_mean(value: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a known value is close to ``value``; else empty."""
    close = difflib.get_close_matches(value, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
