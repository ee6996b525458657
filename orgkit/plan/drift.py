"""Drift: the plan's comparison seen as findings, plus what only a deep read shows.

Same comparison as plan (so drift and plan never disagree), reported per resource: something
org.yaml declares that is ``missing``, ``changed``, live but ``unmanaged``, or ``failed``
(for example stack instances that are not CURRENT). Each kind says how its changes and its
deep-read findings read.
"""

from __future__ import annotations

from dataclasses import replace

from orgkit.changes import DriftReport, Finding, Plan
from orgkit.kinds import REGISTRY, kind_of
from orgkit.live.model import LiveOrg


def drift(plan: Plan, live: LiveOrg) -> DriftReport:
    """Findings from a plan made with every destructive flag, and from each kind's deep read."""
    findings = [
        replace(kind_of(c.kind).finding(c), detail=tuple(kind_of(c.kind).describe(c)))
        for c in (*plan.changes, *plan.held_back)
    ]
    findings += [
        Finding(
            u.address,
            u.kind,
            kind_of(u.kind).unmanaged_account_id(u, live),
            "unmanaged",
            None,
            u.detail,
        )
        for u in plan.unmanaged
    ]
    for kind in REGISTRY.values():
        findings += kind.live_findings(live)
    return DriftReport(tuple(findings), {a.id: a.name for a in live.accounts})
