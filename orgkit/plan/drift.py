"""Drift: the plan's comparison seen as findings, plus what only a deep read shows.

Same comparison as plan (so drift and plan never disagree), reported per resource: something
org.yaml declares that is ``missing``, ``changed``, live but ``unmanaged``, or ``failed``
(for example stack instances that are not CURRENT). Each kind says how its changes and its
deep-read findings read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from orgkit.changes import DriftReport, Finding, Plan
from orgkit.config.models import OrgSpec
from orgkit.errors import OrgkitError, did_you_mean
from orgkit.kinds import REGISTRY, kind_of
from orgkit.live.model import LiveOrg
from orgkit.names import ROOT_PATH


def drift(plan: Plan, live: LiveOrg) -> DriftReport:
    """Findings from a plan made with every destructive flag, and from each kind's deep read."""
    findings = []
    for change in (*plan.changes, *plan.held_back):
        kind = kind_of(change.kind)
        fields = kind.differing_fields(change)
        findings.append(
            replace(
                kind.finding(change),
                detail=tuple(kind.describe(change)),
                fields=tuple(fields) if fields is not None else None,
            )
        )
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


@dataclass(frozen=True)
class DriftScope:
    """Which findings a drift report keeps: of these accounts (name, email or id), under these
    OUs (paths, their sub-OUs included), of these kinds. Empty: no limit."""

    accounts: tuple[str, ...] = ()
    ous: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        """True when nothing is filtered out."""
        return not (self.accounts or self.ous or self.kinds)


_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _under(path: str, ou: str) -> bool:
    return path == ou or path.startswith(ou + "/")


def scoped(report: DriftReport, scope: DriftScope, spec: OrgSpec, live: LiveOrg) -> DriftReport:
    """The findings of ``report`` within ``scope``. A finding belongs to an account by its
    account id or by the account's email in its address; to an OU by such an account's OU
    (declared and live: a moved account is in both), by an OU path in its address (the OU
    itself, an attachment to it), and a policy's own finding to the OUs it applies in (attached
    there, above, or below). Organization-wide things (stack sets, the trail, delegated
    administrators) belong to no OU.

    Raises OrgkitError for an account or OU that neither org.yaml nor the organization has.
    """
    if scope.everything:
        return report
    live_ou_path = {ou.id: ou.path for ou in live.ous} | {live.root_id: ROOT_PATH}
    ids: dict[str, str] = {}  # email (lower case) -> account id, of live accounts
    ou_paths: dict[str, set[str]] = {}  # email (lower case) -> its OU paths, declared and live
    for account in live.accounts:
        ids[account.email.lower()] = account.id
        ou_paths.setdefault(account.email.lower(), set()).add(
            live_ou_path.get(account.parent_id, ROOT_PATH)
        )
    for declared in spec.accounts:
        ou_paths.setdefault(declared.email.lower(), set()).add(declared.ou)
    by_id = {account_id: email for email, account_id in ids.items()}
    names = {a.name: a.email.lower() for a in live.accounts}
    names |= {a.name: a.email.lower() for a in spec.accounts}

    def account_email(selector: str) -> str:
        for candidate in (by_id.get(selector), names.get(selector), selector.lower()):
            if candidate in ou_paths:
                return candidate
        raise OrgkitError(
            f"--account {selector}: no account with that name, email or id in org.yaml or "
            f"the organization{did_you_mean(selector, [*names, *ou_paths])}"
        )

    wanted_emails = {account_email(selector) for selector in scope.accounts}
    known_ous = {path for path, _, _ in spec.walk_ous()} | set(live_ou_path.values())
    for ou in scope.ous:
        if ou not in known_ous:
            raise OrgkitError(
                f"--ou {ou}: no OU with that path in org.yaml or the organization"
                + did_you_mean(ou, known_ous),
                hint="OUs are named by their path from the root, e.g. /Production.",
            )

    def emails_of(finding: Finding) -> set[str]:
        found = {by_id[finding.account_id]} if finding.account_id in by_id else set()
        return found | {n.lower() for n in _QUOTED.findall(finding.address)} & ou_paths.keys()

    # Where each declared policy is attached: a policy's own finding (its content) belongs to
    # those places and, as policies are inherited, to every OU below them.
    ou_of = {a.email.lower(): a.ou for a in spec.accounts}
    attached = {
        name: {ou_of.get(place, place) for place in places}  # an account's: its OU
        for name, places in spec.declared_attachments().items()
    }

    def paths_of(finding: Finding) -> set[str]:
        paths = {n for n in _QUOTED.findall(finding.address) if n.startswith("/")}
        for email in emails_of(finding):
            paths |= ou_paths[email]
        return paths

    def inherited(finding: Finding, ou: str) -> bool:
        """A policy's finding, where the policy applies in ``ou`` (attached at or above it)."""
        if finding.kind != "policy":
            return False
        places = {p for n in _QUOTED.findall(finding.address) for p in attached.get(n, ())}
        return any(p == ROOT_PATH or _under(ou, p) or _under(p, ou) for p in places)

    def keep(finding: Finding) -> bool:
        if scope.kinds and finding.kind not in scope.kinds:
            return False
        if scope.accounts and not emails_of(finding) & wanted_emails:
            return False
        if not scope.ous or ROOT_PATH in scope.ous:
            return True
        return any(_under(p, ou) for p in paths_of(finding) for ou in scope.ous) or any(
            inherited(finding, ou) for ou in scope.ous
        )

    return replace(report, findings=tuple(f for f in report.findings if keep(f)))
