"""Drift: the plan's comparison seen as findings, plus what only a deep read shows.

Same comparison as plan (so drift and plan never disagree), reported per resource: something
org.yaml declares that is ``missing``, ``changed``, live but ``unmanaged``, or ``failed``
(stack instances that are not CURRENT).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orgkit.live.model import LiveOrg
from orgkit.plan.model import Action, Change, Kind, Plan


@dataclass(frozen=True)
class Finding:
    """One difference between org.yaml and the live organization."""

    address: str
    kind: str
    account_id: str | None
    issue: str  # missing | changed | unmanaged | failed
    expected: Any
    actual: Any

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract's finding object."""
        return {"address": self.address, "kind": self.kind, "account_id": self.account_id,
                "issue": self.issue, "expected": self.expected, "actual": self.actual}


@dataclass(frozen=True)
class DriftReport:
    """Every finding; in sync when there are none."""

    findings: tuple[Finding, ...]

    @property
    def in_sync(self) -> bool:
        """True when the organization matches org.yaml."""
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: ``{"in_sync", "findings"}``."""
        return {"in_sync": self.in_sync, "findings": [f.to_dict() for f in self.findings]}


def drift(plan: Plan, live: LiveOrg) -> DriftReport:
    """Findings from a plan made with every destructive flag, and from stack instance status."""
    findings = [_finding(change) for change in (*plan.changes, *plan.held_back)]
    findings += [
        Finding(u.address, u.kind.value, _account_of(u.address, live), "unmanaged", None,
                u.detail)
        for u in plan.unmanaged
    ]
    for stack_set in live.stack_sets:
        for instance in stack_set.instances:
            if instance.drift_status == "DRIFTED":
                owner = live.target_name(instance.account_id)
                findings.append(Finding(
                    f'stack_instance["{stack_set.name}" -> "{owner}" -> "{instance.region}"]',
                    Kind.STACK_INSTANCE.value, instance.account_id, "changed",
                    {"drift_status": "IN_SYNC"}, {"drift_status": "DRIFTED"},
                ))
            if instance.status != "CURRENT":
                owner = live.target_name(instance.account_id)
                findings.append(Finding(
                    f'stack_instance["{stack_set.name}" -> "{owner}" -> "{instance.region}"]',
                    Kind.STACK_INSTANCE.value, instance.account_id, "failed",
                    {"status": "CURRENT"},
                    {"status": instance.status, "reason": instance.status_reason,
                     "detailed_status": instance.detailed_status},
                ))
    return DriftReport(tuple(findings))


def _finding(change: Change) -> Finding:
    before, after = change.before or {}, change.after or {}
    account_id = _account_id(change)
    if change.action is Action.CREATE:
        return Finding(change.address, change.kind.value, account_id, "missing", after, None)
    if change.action is Action.UPDATE:
        return Finding(change.address, change.kind.value, account_id, "changed", after, before)
    # A destructive change: org.yaml wants it gone (or detached) but it is there.
    return Finding(change.address, change.kind.value, account_id, "changed", after, before)


def _account_id(change: Change) -> str | None:
    for side in (change.after or {}, change.before or {}):
        if side.get("account_id"):
            return str(side["account_id"])
        if change.kind is Kind.ACCOUNT and side.get("id"):
            return str(side["id"])
    return None


def _account_of(address: str, live: LiveOrg) -> str | None:
    if address.startswith(f"{Kind.ACCOUNT.value}["):
        email = address.split('"')[1]
        account = live.account_by_email.get(email)
        return account.id if account else None
    return None
