"""What a targeted plan keeps (``--target``, :mod:`orgkit.target`): the changes of the targeted
accounts and OUs, and of what governs them or must exist first: the OUs above them, the
guardrails attached to them, to those OUs and to the root, the content of the policies that
apply to them (attached to them, above them, at the root; an OU target's policies below it
too), the stack sets they need created and a project's own stack sets, and a policy type a kept
policy needs enabled. Organization-wide things (trusted access, delegated administrators,
security services, the trail) belong to no target.

Each kind says what its changes belong to (``ResourceKind.belongs_to``); nothing here names a
kind.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from orgkit.changes import Action, Change, Unmanaged
from orgkit.config.models import OrgSpec, parent_path
from orgkit.errors import OrgkitError, did_you_mean
from orgkit.kinds import kind_of
from orgkit.live.model import LiveOrg
from orgkit.names import ROOT_PATH
from orgkit.target import HINT, Target, under

_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _ancestors(path: str) -> set[str]:
    """The OUs above ``path`` (not the root)."""
    found = set()
    while path != ROOT_PATH:
        path = parent_path(path)
        if path != ROOT_PATH:
            found.add(path)
    return found


@dataclass(frozen=True)
class Reach:
    """A target resolved against org.yaml and the organization as read: the accounts in it
    (emails and ids) and the OU paths its changes may touch."""

    target: Target
    emails: frozenset[str]
    ids: frozenset[str]
    places: frozenset[str]  # targeted OU subtrees' paths, and the OUs the accounts are in
    above: frozenset[str]  # the OUs above those (their creation or rename comes first)
    policies: frozenset[str]  # policies that apply to the target (by name)
    stack_sets: frozenset[str]  # a targeted project's own stack sets
    # policy name -> where it is attached now (the root, OU paths, account emails).
    attached: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # The OU paths (declared and live) of the accounts not in the target.
    others: frozenset[str] = frozenset()

    def governs_beyond(self, place: str) -> bool:
        """Whether a policy attached at ``place`` (the root, an OU path, an account's email)
        governs accounts beyond the target."""
        if place == ROOT_PATH:
            return True
        if place.startswith("/"):
            return any(under(ou, place) for ou in self.others)
        return place.lower() not in self.emails

    def reach_notes(self, changes: Sequence[Change]) -> list[str]:
        """What a kept change does beyond the target, said in the plan: a policy whose content
        changes and an attachment made where other accounts are governed too, a stack set
        whose update reaches every instance. A reviewer of a targeted plan must see that
        these are not the target's alone."""
        attaching: dict[str, set[str]] = {}
        for change in changes:
            if kind_of(change.kind).belongs_to == "attachment" and change.action is Action.CREATE:
                policy, place = _QUOTED.findall(change.address)[:2]
                attaching.setdefault(policy, set()).add(place)
        notes = []
        for change in changes:
            belongs = kind_of(change.kind).belongs_to
            if belongs == "policy":
                name = _QUOTED.findall(change.address)[0]
                places = {*self.attached.get(name, ()), *attaching.get(name, ())}
                where = _places([p for p in places if self.governs_beyond(p)])
                if where:
                    notes.append(
                        f"{change.address} governs accounts beyond the target too (attached "
                        f"at {where}): its change takes effect there as well."
                    )
            elif belongs == "attachment" and change.action is Action.CREATE:
                place = _QUOTED.findall(change.address)[1]
                if self.governs_beyond(place):
                    notes.append(
                        f"{change.address} governs accounts beyond the target too "
                        f"(at {_places([place])})."
                    )
            elif belongs == "stack_set" and change.action is Action.UPDATE:
                notes.append(
                    f"{change.address}: the update reaches every instance of the stack set, "
                    "not only the target's."
                )
        return notes

    def within(
        self, changes: Sequence[Change], unmanaged: Sequence[Unmanaged]
    ) -> tuple[list[Change], list[Unmanaged]]:
        """The changes and unmanaged things within the target: those that belong to accounts,
        OUs and policies first, then the stack sets and policy types the kept changes need."""
        later = {"stack_set", "policy_type"}
        kept = [c for c in changes if kind_of(c.kind).belongs_to not in later and self.keeps(c)]
        needed = [c for c in changes if kind_of(c.kind).belongs_to in later and self.keeps(c, kept)]
        chosen = {id(c) for c in (*kept, *needed)}
        return [c for c in changes if id(c) in chosen], [u for u in unmanaged if self.keeps(u)]

    def keeps(self, change: Change | Unmanaged, kept: Iterable[Change] = ()) -> bool:
        """Whether a change (or something unmanaged) is within the target; ``kept``: the
        changes kept so far (a stack set or policy type is kept when a kept change needs it)."""
        belongs = kind_of(change.kind).belongs_to
        names = _QUOTED.findall(change.address)
        if self._names_account(change, names):
            return True
        if belongs == "ou":
            return any(n in self.places or n in self.above for n in names)
        if belongs == "attachment":  # to the target's OUs, those above them, the root
            if not any(n in self.places or n in self.above or n == ROOT_PATH for n in names):
                return False
            # A detachment where other accounts are governed too is theirs as much as the
            # target's: only a whole plan makes it (with the attachment that may replace it).
            detach = isinstance(change, Change) and change.action is Action.DELETE
            return not (detach and self.governs_beyond(names[1]))
        if belongs == "policy":
            return bool(set(names[:1]) & self.policies)
        if belongs == "stack_set":
            if set(names[:1]) & self.stack_sets:
                return True
            if isinstance(change, Change) and change.action is Action.CREATE:
                return any(
                    kind_of(k.kind).belongs_to == "account"
                    and _QUOTED.findall(k.address)[:1] == names[:1]
                    for k in kept
                )
            return False
        if belongs == "policy_type" and isinstance(change, Change):
            return change.action is Action.CREATE and any(
                kind_of(k.kind).belongs_to == "policy" and getattr(k.after, "type", None) in names
                for k in kept
            )
        return False

    def _names_account(self, change: Change | Unmanaged, names: list[str]) -> bool:
        if kind_of(change.kind).belongs_to not in ("account", "attachment"):
            return False
        if {n.lower() for n in names} & self.emails:
            return True
        if isinstance(change, Change):
            account_id = kind_of(change.kind).account_id(change)
            return account_id is not None and account_id in self.ids
        return any(n in self.ids for n in names)


def reach(target: Target, spec: OrgSpec, live: LiveOrg) -> Reach:
    """Resolve ``target`` against org.yaml and the organization as read.

    Raises OrgkitError for an account or OU that neither has, or a project org.yaml lacks.
    """
    target.check(spec)
    path_of = live.path_by_id
    wants = target.account_filter(spec)
    emails: set[str] = set()
    ids: set[str] = set()
    places: set[str] = set()
    for account in live.accounts:
        live_ou = path_of.get(account.parent_id, ROOT_PATH)
        if wants(email=account.email, account_id=account.id, name=account.name, live_ou=live_ou):
            emails.add(account.email.lower())
            ids.add(account.id)
            places.add(live_ou)
    for declared in spec.accounts:
        if wants(email=declared.email, account_id=None, name=declared.name, live_ou=None):
            emails.add(declared.email.lower())
            places.add(declared.ou)
    live_ids = {a.id.lower() for a in live.accounts}
    known_names = (
        {a.name.lower() for a in live.accounts}
        | {a.email.lower() for a in live.accounts}
        | {a.name.lower() for a in spec.accounts}
        | {a.email.lower() for a in spec.accounts}
        | live_ids
    )
    for selector in target.accounts:
        if selector.lower() not in known_names:
            raise OrgkitError(
                f"{target.named('account', selector)}: no account with that name, email or id "
                f"in org.yaml or the organization"
                + did_you_mean(
                    selector, [a.name for a in spec.accounts] + [a.name for a in live.accounts]
                ),
                hint="Accounts are named by name, email or id." if target.filters else HINT,
            )
    known_ous = {path for path, _, _ in spec.walk_ous()} | {ou.path for ou in live.ous}
    for ou in target.ous:
        if ou != ROOT_PATH and ou not in known_ous:
            raise OrgkitError(
                f"{target.named('ou', ou)}: no OU with that path in org.yaml or the organization"
                + did_you_mean(ou, known_ous),
                hint="OUs are named by their path from the root, e.g. "
                + ("/Production." if target.filters else "ou:/Production."),
            )
        places |= {p for p in known_ous if under(p, ou)}
    places.discard(ROOT_PATH)
    above = set().union(*(_ancestors(p) for p in places)) - places if places else set()
    governing = places | above | {ROOT_PATH} | emails
    policies = set(spec.organization.policies)  # the root governs every target
    for path, ou_spec, _ in spec.walk_ous():
        if path in governing:
            policies.update(ou_spec.policies)
    for declared in spec.accounts:
        if declared.email.lower() in emails:
            policies.update(declared.policies)
    for policy in live.policies:
        if {live.target_name(t) for t in policy.targets} & governing:
            policies.add(policy.name)
    stack_sets = {s.name for s in spec.stack_sets if s.project and s.project in target.projects}
    attached = {
        policy.name: frozenset(live.target_name(t) for t in policy.targets)
        for policy in live.policies
    }
    others = {
        path_of.get(a.parent_id, ROOT_PATH) for a in live.accounts if a.email.lower() not in emails
    }
    others |= {a.ou for a in spec.accounts if a.email.lower() not in emails}
    return Reach(
        target,
        frozenset(emails),
        frozenset(ids),
        frozenset(places),
        frozenset(above),
        frozenset(policies),
        frozenset(stack_sets),
        attached,
        frozenset(others),
    )


def _places(places: Iterable[str]) -> str:
    return ", ".join(
        "the root (every account)" if p == ROOT_PATH else p for p in sorted(set(places))
    )
