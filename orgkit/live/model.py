"""Immutable snapshot of the live organization: the ``Live*`` side of every comparison."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from orgkit.names import ROOT_PATH, SCP


@dataclass(frozen=True)
class LiveOU:
    """An OU as AWS has it, with its path from the root."""

    id: str
    name: str
    path: str
    parent_id: str


@dataclass(frozen=True)
class LiveAccount:
    """A member (or the management) account and its parent."""

    id: str
    name: str
    email: str
    status: str
    parent_id: str
    tags: tuple[tuple[str, str], ...] | None = None  # None: not read (nothing to compare)

    @property
    def tag_map(self) -> dict[str, str] | None:
        """Tags as a dict, or None when they were not read."""
        return dict(self.tags) if self.tags is not None else None


@dataclass(frozen=True)
class LivePolicy:
    """An Organizations policy of any type (``type`` is AWS's name for it); content and targets
    are read for customer policies only."""

    id: str
    name: str
    description: str
    aws_managed: bool
    content: str | None = None
    targets: tuple[str, ...] = ()
    type: str = SCP

    @property
    def document(self) -> Any:
        """The parsed policy document (None if unreadable or not read)."""
        if self.content is None:
            return None
        try:
            return json.loads(self.content)
        except json.JSONDecodeError:
            return None


@dataclass(frozen=True)
class PendingAccount:
    """A CreateAccount request still IN_PROGRESS: apply resumes it instead of creating again."""

    request_id: str
    account_name: str


@dataclass(frozen=True)
class LiveRole:
    """A role orgkit looked for in an account; ``exists`` False when it is not there."""

    account_id: str
    role_name: str
    exists: bool
    trust: Any = None
    permissions: Any = None  # orgkit's inline policy, None if absent
    max_session_duration: int | None = None
    boundary_arn: str | None = None
    boundary: Any = None  # the boundary policy's default version, None if absent
    oidc_provider: bool | None = None  # None: not looked for
    extra_policies: tuple[str, ...] = ()  # inline names / managed ARNs orgkit did not put there


@dataclass(frozen=True)
class LiveNotification:
    """A budget notification with its subscribers."""

    type: str
    threshold: float
    comparison: str
    threshold_type: str
    subscribers: tuple[tuple[str, str], ...]  # (EMAIL|SNS, address), sorted


@dataclass(frozen=True)
class LiveBudget:
    """An orgkit budget in the management account."""

    name: str
    amount: float
    currency: str
    time_unit: str
    linked_accounts: tuple[str, ...]
    notifications: tuple[LiveNotification, ...]


@dataclass(frozen=True)
class LiveStackInstance:
    """One stack instance: an account and region of a stack set."""

    account_id: str
    region: str
    status: str  # CURRENT | OUTDATED | INOPERABLE
    status_reason: str = ""
    detailed_status: str = ""
    overrides: tuple[tuple[str, str], ...] = ()
    drift_status: str = "NOT_CHECKED"  # DRIFTED | IN_SYNC | UNKNOWN | NOT_CHECKED


@dataclass(frozen=True)
class LiveStackSet:
    """A stack set orgkit declares, as CloudFormation has it."""

    name: str
    status: str
    description: str
    template_body: str
    parameters: tuple[tuple[str, str], ...]
    capabilities: tuple[str, ...]
    administration_role_arn: str
    execution_role_name: str
    instances: tuple[LiveStackInstance, ...] = ()


@dataclass(frozen=True)
class LiveOrg:
    """Everything plan needs to know about the organization, read once."""

    organization_id: str
    management_account_id: str
    feature_set: str
    root_id: str
    policy_types: tuple[str, ...]
    ous: tuple[LiveOU, ...]
    accounts: tuple[LiveAccount, ...]
    policies: tuple[LivePolicy, ...]
    pending_accounts: tuple[PendingAccount, ...] = ()
    roles: tuple[LiveRole, ...] = ()
    budgets: tuple[LiveBudget, ...] = ()
    stack_sets: tuple[LiveStackSet, ...] = ()
    # What kinds added after these fields read, by kind (each kind module defines its type).
    resources: Mapping[str, Any] = field(default_factory=dict)

    def role(self, account_id: str, role_name: str) -> LiveRole | None:
        """The role as read, or None when it was not read."""
        return self._role_by_key.get((account_id, role_name))

    @cached_property
    def _role_by_key(self) -> dict[tuple[str, str], LiveRole]:
        # A dict, not a scan: the planner asks once per account (1000 accounts: 10^6 steps).
        found: dict[tuple[str, str], LiveRole] = {}
        for role in self.roles:
            found.setdefault((role.account_id, role.role_name), role)  # the first, as before
        return found

    @cached_property
    def stack_set_by_name(self) -> dict[str, LiveStackSet]:
        """Declared stack sets that exist, keyed by name."""
        return {s.name: s for s in self.stack_sets}

    @cached_property
    def budget_by_name(self) -> dict[str, LiveBudget]:
        """orgkit's budgets keyed by name."""
        return {b.name: b for b in self.budgets}

    @cached_property
    def account_by_id(self) -> dict[str, LiveAccount]:
        """Accounts keyed by id."""
        return {a.id: a for a in self.accounts}

    @cached_property
    def ou_by_path(self) -> dict[str, LiveOU]:
        """OUs keyed by path."""
        return {ou.path: ou for ou in self.ous}

    @cached_property
    def account_by_email(self) -> dict[str, LiveAccount]:
        """Accounts keyed by lower-cased email."""
        return {a.email.lower(): a for a in self.accounts}

    @cached_property
    def policy_by_name(self) -> dict[str, LivePolicy]:
        """Customer-managed policies keyed by name (of any type; see :meth:`policy`)."""
        return {p.name: p for p in self.policies if not p.aws_managed}

    @cached_property
    def policy_by_key(self) -> dict[tuple[str, str], LivePolicy]:
        """Customer-managed policies keyed by (AWS policy type, name)."""
        return {(p.type, p.name): p for p in self.policies if not p.aws_managed}

    def policy(self, name: str, policy_type: str) -> LivePolicy | None:
        """The customer-managed policy of that name and AWS type, if it is live."""
        return self.policy_by_key.get((policy_type, name))

    @cached_property
    def path_by_id(self) -> dict[str, str]:
        """Root and OU ids to paths."""
        paths = {self.root_id: ROOT_PATH}
        paths.update({ou.id: ou.path for ou in self.ous})
        return paths

    def target_name(self, target_id: str) -> str:
        """A target id as orgkit names it: an OU path, ``/`` for the root, or an email."""
        if target_id in self.path_by_id:
            return self.path_by_id[target_id]
        account = self.account_by_id.get(target_id)
        return account.email.lower() if account else target_id

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (sorted), used for the saved plan's fingerprint."""
        data = asdict(self)
        data["ous"] = sorted(data["ous"], key=lambda o: o["path"])
        data["accounts"] = sorted(data["accounts"], key=lambda a: a["id"])
        data["policies"] = sorted(data["policies"], key=lambda p: (p["type"], p["id"]))
        for policy in data["policies"]:
            policy["targets"] = sorted(policy["targets"])
        data["pending_accounts"] = sorted(data["pending_accounts"], key=lambda p: p["request_id"])
        data["roles"] = sorted(data["roles"], key=lambda r: (r["account_id"], r["role_name"]))
        data["budgets"] = sorted(data["budgets"], key=lambda b: b["name"])
        data["stack_sets"] = sorted(data["stack_sets"], key=lambda s: s["name"])
        data["resources"] = {k: data["resources"][k] for k in sorted(data["resources"])}
        for stack_set in data["stack_sets"]:
            stack_set["instances"] = sorted(
                stack_set["instances"], key=lambda i: (i["account_id"], i["region"])
            )
        return data

    def fingerprint(self) -> str:
        """A digest of the snapshot: a saved plan applies only while it is unchanged."""
        text = json.dumps(self.to_dict(), sort_keys=True, default=list)
        return hashlib.sha256(text.encode()).hexdigest()
