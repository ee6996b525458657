"""Typed plan changes: what apply will do, in order, and what plan leaves alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

PLAN_FORMAT_VERSION = 1


class Action(str, Enum):
    """What a change does, with the symbol the views show."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"

    @property
    def symbol(self) -> str:
        """Terraform-style marker: + create, ~ update, - delete."""
        return {"create": "+", "update": "~", "delete": "-"}[self.value]


class Kind(str, Enum):
    """What a change is about; values are the JSON contract's ``kind``."""

    POLICY_TYPE = "policy_type"
    OU = "ou"
    POLICY = "policy"
    ACCOUNT = "account"
    POLICY_ATTACHMENT = "policy_attachment"
    DEPLOYMENT_ROLE = "deployment_role"
    BUDGET = "budget"
    STACK_SET = "stack_set"
    STACK_INSTANCE = "stack_instance"


@dataclass(frozen=True)
class Change:
    """One change. ``before``/``after`` carry everything apply needs (plans are saved as JSON)."""

    address: str
    kind: Kind
    action: Action
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    destructive: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract's change object."""
        return {
            "address": self.address,
            "kind": self.kind.value,
            "action": self.action.value,
            "before": self.before,
            "after": self.after,
            "destructive": self.destructive,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        """Rebuild a change from a saved plan."""
        return cls(
            address=data["address"],
            kind=Kind(data["kind"]),
            action=Action(data["action"]),
            before=data.get("before"),
            after=data.get("after"),
            destructive=bool(data.get("destructive", False)),
        )


@dataclass(frozen=True)
class Unmanaged:
    """Something live that org.yaml does not declare: reported, never touched."""

    address: str
    kind: Kind
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"address": self.address, "kind": self.kind.value, "detail": self.detail}


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
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """Rebuild a saved plan (``orgkit plan --out``)."""
        return cls(
            changes=tuple(Change.from_dict(c) for c in data["changes"]),
            held_back=tuple(Change.from_dict(c) for c in data.get("held_back", [])),
            unmanaged=tuple(
                Unmanaged(u["address"], Kind(u["kind"]), u["detail"])
                for u in data.get("unmanaged", [])
            ),
            warnings=tuple(data.get("warnings", [])),
            live_fingerprint=data.get("live_fingerprint"),
            config_fingerprint=data.get("config_fingerprint"),
            management_account_id=data.get("management_account_id"),
            flags=dict(data.get("flags", {})),
        )


def address(kind: Kind, *names: str) -> str:
    """A stable, readable address: ``ou["/Production"]``, ``policy_attachment["a" -> "/"]``."""
    inner = " -> ".join(f'"{n}"' for n in names)
    return f"{kind.value}[{inner}]"
