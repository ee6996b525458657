"""The typed results of planning and auditing: changes, plans, drift findings.

These are the JSON contracts of ``orgkit plan --json`` and ``orgkit drift --json``. What each
kind of change carries in ``before``/``after`` is a pydantic model declared by that kind's
module in :mod:`orgkit.kinds`; this module knows none of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

PLAN_FORMAT_VERSION = 1  # bump when the JSON shape of a plan changes


class Action(str, Enum):
    """What a change does, with the symbol the views show."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"

    @property
    def symbol(self) -> str:
        """Terraform-style marker: + create, ~ update, - delete."""
        return {"create": "+", "update": "~", "delete": "-"}[self.value]


class Side(BaseModel):
    """Base of every kind's ``before``/``after`` model: frozen, and no field it does not
    declare (a saved plan with an unknown field is refused, not half-read)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # Fields left out of the JSON form while they are None (present only when they apply).
    omit_none: ClassVar[frozenset[str]] = frozenset()

    def dump(self) -> dict[str, Any]:
        """The JSON form the plan contract carries."""
        data = self.model_dump(mode="json")
        for key in self.omit_none:
            if data.get(key) is None:
                data.pop(key, None)
        return data


S = TypeVar("S", bound=Side)


@dataclass(frozen=True)
class Change:
    """One change to one resource.

    ``kind`` is the kind module's name (``ou``, ``account``, ...); ``before``/``after`` are that
    kind's models. ``destructive`` is decided by the kind when the plan is made, never read from
    a file.
    """

    address: str
    kind: str
    action: Action
    before: Side | None
    after: Side | None
    destructive: bool = False

    def new(self, model: type[S]) -> S:
        """``after`` as the model a handler expects (a mismatch is a bug, not user input)."""
        return _as(self.after, model, self, "after")

    def old(self, model: type[S]) -> S:
        """``before`` as the model a handler expects."""
        return _as(self.before, model, self, "before")

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract's change object."""
        return {
            "address": self.address,
            "kind": self.kind,
            "action": self.action.value,
            "before": self.before.dump() if self.before is not None else None,
            "after": self.after.dump() if self.after is not None else None,
            "destructive": self.destructive,
        }


def _as(value: Side | None, model: type[S], change: Change, side: str) -> S:
    if not isinstance(value, model):
        raise TypeError(
            f"{change.address}: {side} is {type(value).__name__}, expected {model.__name__}"
        )
    return value


@dataclass(frozen=True)
class Unmanaged:
    """Something live that org.yaml does not declare: reported, never touched."""

    address: str
    kind: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"address": self.address, "kind": self.kind, "detail": self.detail}


@dataclass(frozen=True)
class Plan:
    """The ordered changes, plus what was held back and what is unmanaged."""

    changes: tuple[Change, ...]
    held_back: tuple[Change, ...] = ()  # destructive changes whose flag was not given
    unmanaged: tuple[Unmanaged, ...] = ()
    warnings: tuple[str, ...] = ()
    live_fingerprint: str | None = None
    config_fingerprint: str | None = None
    management_account_id: str | None = None
    flags: dict[str, bool] = field(default_factory=dict)
    # ``--target``: what the plan was limited to ({accounts, ous, projects}); None: everything.
    target: dict[str, list[str]] | None = None

    @property
    def empty(self) -> bool:
        """True when apply would do nothing."""
        return not self.changes

    @property
    def in_sync(self) -> bool:
        """True when nothing differs, held-back destructive changes included."""
        return not self.changes and not self.held_back

    def summary(self) -> dict[str, int]:
        """Counts by action, the JSON contract's ``summary``."""
        counts = {action.value: 0 for action in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        counts["total"] = len(self.changes)
        counts["held_back"] = len(self.held_back)
        counts["unmanaged"] = len(self.unmanaged)
        return counts

    def to_dict(self) -> dict[str, Any]:
        """One JSON document: the contract's changes and summary, then the rest."""
        return {
            "changes": [c.to_dict() for c in self.changes],
            "summary": self.summary(),
            "held_back": [c.to_dict() for c in self.held_back],
            "unmanaged": [u.to_dict() for u in self.unmanaged],
            "warnings": list(self.warnings),
            "format_version": PLAN_FORMAT_VERSION,
            "live_fingerprint": self.live_fingerprint,
            "config_fingerprint": self.config_fingerprint,
            "management_account_id": self.management_account_id,
            "flags": dict(self.flags),
            "target": self.target,
        }

    def canonical_changes(self) -> str:
        """The changes as one canonical string: two plans that would do the same agree."""
        return json.dumps(
            [c.to_dict() for c in self.changes], sort_keys=True, separators=(",", ":")
        )


def address(kind: str, *names: str) -> str:
    """A stable, readable address: ``ou["/Production"]``, ``policy_attachment["a" -> "/"]``."""
    inner = " -> ".join(f'"{n}"' for n in names)
    return f"{kind}[{inner}]"


# The drift JSON's version: 1 was {"in_sync", "findings"}; 2 added format_version, summary and
# each finding's differs; 3: a changed finding's expected/actual carry only the fields that
# differ (`drift --json --whole` keeps them all), and in_sync is true when only unmanaged
# things are found (they never were differences in a plan).
DRIFT_FORMAT_VERSION = 3


@dataclass(frozen=True)
class Finding:
    """One difference between org.yaml and the live organization."""

    address: str
    kind: str
    account_id: str | None
    issue: str  # missing | changed | unmanaged | failed
    expected: Any
    actual: Any
    note: str = ""  # for the text view only (the kind's note); the JSON sides carry it already
    detail: tuple[str, ...] = ()  # for the text view only: what differs, as plan describes it
    fields: tuple[str, ...] | None = None  # what differs, when the kind knows (see `differs`)

    @property
    def differs(self) -> list[str]:
        """The top-level fields that differ (a changed finding): as the kind says, else those
        both sides have with different values (a field on one side only is context, such as
        the live parent's id), else any field whose values differ."""
        if not isinstance(self.expected, dict) or not isinstance(self.actual, dict):
            return []
        if self.fields is not None:
            return list(self.fields)
        keys = [*self.expected, *(k for k in self.actual if k not in self.expected)]
        differing = [k for k in keys if self.expected.get(k) != self.actual.get(k)]
        both = [k for k in differing if k in self.expected and k in self.actual]
        return both or differing

    def to_dict(self, *, whole: bool = False) -> dict[str, Any]:
        """The JSON contract's finding object. A ``changed`` finding's ``expected`` and
        ``actual`` carry only the fields that differ (drift format 3); ``whole`` keeps every
        field (format 2's content). ``differs`` since format 2."""
        expected, actual = self.expected, self.actual
        differs = self.differs
        if differs and not whole:
            expected, actual = _narrow(
                {k: v for k, v in expected.items() if k in differs},
                {k: v for k, v in actual.items() if k in differs},
            )
        return {
            "address": self.address,
            "kind": self.kind,
            "account_id": self.account_id,
            "issue": self.issue,
            "expected": expected,
            "actual": actual,
            "differs": differs,
        }


def _narrow(expected: Any, actual: Any) -> tuple[Any, Any]:
    """Only the parts that differ: within mappings the keys whose values differ, within lists
    the items one side has and the other has not (a policy's extra statement); other values
    whole."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        keys = [*expected, *(k for k in actual if k not in expected)]
        narrowed = {
            k: _narrow(expected.get(k), actual.get(k))
            for k in keys
            if expected.get(k) != actual.get(k)
        }
        return (
            {k: e for k, (e, _) in narrowed.items() if k in expected},
            {k: a for k, (_, a) in narrowed.items() if k in actual},
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return [e for e in expected if e not in actual], [a for a in actual if a not in expected]
    return expected, actual


@dataclass(frozen=True)
class DriftReport:
    """Every finding. In sync when nothing org.yaml declares differs: unmanaged things are
    reported but, like in a plan, are not differences (apply's "matches org.yaml" and drift's
    verdict agree)."""

    findings: tuple[Finding, ...]
    # Account id -> name, for the text view's grouping (not part of the JSON).
    account_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def managed(self) -> tuple[Finding, ...]:
        """The findings about what org.yaml declares."""
        return tuple(f for f in self.findings if f.issue != "unmanaged")

    @property
    def unmanaged(self) -> tuple[Finding, ...]:
        """What is live but not declared."""
        return tuple(f for f in self.findings if f.issue == "unmanaged")

    @property
    def in_sync(self) -> bool:
        """True when everything org.yaml declares matches (unmanaged things aside)."""
        return not self.managed

    def summary(self) -> dict[str, int]:
        """Findings per issue."""
        return {
            issue: sum(1 for f in self.findings if f.issue == issue)
            for issue in ("missing", "changed", "failed", "unmanaged")
        }

    def to_dict(self, *, whole: bool = False) -> dict[str, Any]:
        """The JSON contract: ``{"format_version", "in_sync", "summary", "findings"}``
        (additions to the first form, ``{"in_sync", "findings"}``: see DRIFT_FORMAT_VERSION)."""
        return {
            "format_version": DRIFT_FORMAT_VERSION,
            "in_sync": self.in_sync,
            "summary": self.summary(),
            "findings": [f.to_dict(whole=whole) for f in self.findings],
        }
