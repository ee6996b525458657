"""``plan(config, live) -> Plan``: pure, no boto3, no I/O.

Order (dependencies first, destruction last): policy types, OU renames and creations (parents
first), policies, attachments to the root and OUs, account creations, account updates (moves,
tags), attachments to accounts, roles in the accounts, budgets, stack sets each with its
instances; then the destructive changes: stack instance and stack set deletions, detachments,
account closures and removals, policy deletions, and OU deletions (children first).
Destructive changes are held back unless their flag is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orgkit.config.loader import Config
from orgkit.config.models import ROOT_PATH, AccountSpec, ou_path, parent_path
from orgkit.live.model import BUDGET_PREFIX, LiveAccount, LiveOrg, LiveOU, LiveRole
from orgkit.plan.model import Action, Change, Kind, Plan, Unmanaged, address
from orgkit.plan.policy_doc import equivalent
from orgkit.plan.roles import ACCOUNT_ID, RoleSpec, wanted_roles
from orgkit.plan.stacksets import plan_stack_sets

SCP = "SERVICE_CONTROL_POLICY"
MANAGED_BY = ("ManagedBy", "orgkit")
CLOSED_STATUSES = {"SUSPENDED", "PENDING_CLOSURE"}


def budget_name(account_id: str) -> str:
    """orgkit's budget for an account: the account id keeps it stable across renames."""
    return f"{BUDGET_PREFIX}monthly-{account_id}"


@dataclass(frozen=True)
class PlanOptions:
    """What the user allowed: destruction of OUs, policies and attachments; account closure."""

    allow_destroy: bool = False
    allow_close_accounts: bool = False


def plan(config: Config, live: LiveOrg, options: PlanOptions | None = None) -> Plan:
    """Compare desired with live and return the ordered changes."""
    options = options or PlanOptions()
    planner = _Planner(config, live, options)
    return planner.run()


class _Planner:
    def __init__(self, config: Config, live: LiveOrg, options: PlanOptions) -> None:
        self.config = config
        self.spec = config.spec
        self.live = live
        self.options = options
        self.changes: list[Change] = []
        self.destructive: list[Change] = []
        self.unmanaged: list[Unmanaged] = []
        self.warnings: list[str] = []
        # Live OU paths as they will read once planned renames are done.
        self.renames: dict[str, str] = {}

    def run(self) -> Plan:
        self._policy_types()
        self._ous()
        self._policies()
        # Guardrails first: SCPs on the root and OUs are attached before any account is
        # created or moved into them; account-level SCPs once the accounts exist.
        self._attachments(to_accounts=False)
        self._accounts()
        self._attachments(to_accounts=True)
        self._roles()
        self._budgets()
        stack_sets = plan_stack_sets(self.config, self.live)
        self.changes += stack_sets.changes
        self.destructive += stack_sets.destructive
        self.warnings += stack_sets.warnings
        self._destroy_ous()
        allowed: list[Change] = []
        held: list[Change] = []
        for change in self.destructive:
            flag = (
                self.options.allow_close_accounts
                if change.kind is Kind.ACCOUNT
                else self.options.allow_destroy
            )
            (allowed if flag else held).append(change)
        return Plan(
            changes=tuple(self.changes + _destroy_order(allowed)),
            held_back=tuple(_destroy_order(held)),
            unmanaged=tuple(sorted(self.unmanaged, key=lambda u: u.address)),
            warnings=tuple(self.warnings),
            live_fingerprint=self.live.fingerprint(),
            config_fingerprint=self.config.fingerprint(),
            management_account_id=self.live.management_account_id,
            flags={
                "allow_destroy": self.options.allow_destroy,
                "allow_close_accounts": self.options.allow_close_accounts,
            },
        )

    # -- policy types ---------------------------------------------------------------------
    def _policy_types(self) -> None:
        if self.live.feature_set != "ALL":
            self.warnings.append(
                f"the organization's feature set is {self.live.feature_set}; SCPs need all "
                "features enabled (enable them in the console, then plan again)")
        if self.spec.policies and SCP not in self.live.policy_types:
            self.changes.append(
                Change(address(Kind.POLICY_TYPE, SCP), Kind.POLICY_TYPE, Action.CREATE,
                       None, {"type": SCP, "root": ROOT_PATH})
            )

    # -- OUs ----------------------------------------------------------------------------
    def live_path(self, ou: LiveOU) -> str:
        """A live OU's path after the planned renames."""
        return self._renamed(ou.path)

    def _renamed(self, path: str) -> str:
        for old, new in self.renames.items():
            if path == old or path.startswith(old + "/"):
                return new + path[len(old):]
        return path

    def _ous(self) -> None:
        live_by_path = dict(self.live.ou_by_path)
        declared: set[str] = set()
        for path, ou, _ in self.spec.walk_ous():
            declared.add(path)
            if ou.state == "absent":
                continue
            current = {self.live_path(o): o for o in live_by_path.values()}
            if path in current:
                continue
            if ou.renamed_from:
                old_path = ou_path(parent_path(path), ou.renamed_from)
                if old_path in current:
                    live_ou = current[old_path]
                    self.renames[live_ou.path] = path
                    self.changes.append(
                        Change(address(Kind.OU, path), Kind.OU, Action.UPDATE,
                               {"path": old_path, "name": ou.renamed_from, "id": live_ou.id},
                               {"path": path, "name": ou.name})
                    )
                    continue
            tags = {**self.spec.organization.tags, **ou.tags, MANAGED_BY[0]: MANAGED_BY[1]}
            self.changes.append(
                Change(address(Kind.OU, path), Kind.OU, Action.CREATE, None,
                       {"path": path, "name": ou.name, "parent": parent_path(path),
                        "tags": tags})
            )
        for live_ou in self.live.ous:
            path = self.live_path(live_ou)
            if path not in declared:
                self.unmanaged.append(
                    Unmanaged(address(Kind.OU, path), Kind.OU, f"OU {live_ou.id} not in org.yaml")
                )

    def _destroy_ous(self) -> None:
        current = {self.live_path(o): o for o in self.live.ous}
        for path, ou, _ in self.spec.walk_ous():
            if ou.state == "absent" and path in current:
                self.destructive.append(
                    Change(address(Kind.OU, path), Kind.OU, Action.DELETE,
                           {"path": path, "name": ou.name, "id": current[path].id}, None,
                           destructive=True)
                )

    # -- policies -------------------------------------------------------------------------
    def _policies(self) -> None:
        live_policies = self.live.policy_by_name
        declared = {p.name for p in self.spec.policies}
        for policy in self.spec.policies:
            live = live_policies.get(policy.name)
            if policy.state == "absent":
                if live is not None:
                    self.destructive.append(
                        Change(address(Kind.POLICY, policy.name), Kind.POLICY, Action.DELETE,
                               {"name": policy.name, "id": live.id}, None, destructive=True)
                    )
                    for target in live.targets:
                        self._detach(policy.name, live.id, target)
                continue
            document = self.config.policies[policy.name]
            after = {
                "name": policy.name,
                "description": policy.description,
                "file": policy.file,
                "content": document.document,
            }
            if live is None:
                tags = {**self.spec.organization.tags, MANAGED_BY[0]: MANAGED_BY[1]}
                self.changes.append(
                    Change(address(Kind.POLICY, policy.name), Kind.POLICY, Action.CREATE,
                           None, {**after, "tags": tags})
                )
            elif live.description != policy.description or not equivalent(
                live.document, document.document
            ):
                self.changes.append(
                    Change(address(Kind.POLICY, policy.name), Kind.POLICY, Action.UPDATE,
                           {"name": live.name, "description": live.description,
                            "content": live.document, "id": live.id},
                           {**after, "id": live.id})
                )
        for live in live_policies.values():
            if live.name not in declared:
                self.unmanaged.append(
                    Unmanaged(address(Kind.POLICY, live.name), Kind.POLICY,
                              f"SCP {live.id} not in org.yaml")
                )

    # -- accounts -------------------------------------------------------------------------
    def _account_ou(self, account: LiveAccount) -> str:
        path = self.live.path_by_id.get(account.parent_id, account.parent_id)
        return self._renamed(path)

    def _accounts(self) -> None:
        live_accounts = self.live.account_by_email
        pending = {p.account_name: p for p in self.live.pending_accounts}
        # Creations together (apply runs them in parallel), then moves and tag updates.
        creates: list[Change] = []
        updates: list[Change] = []
        for spec in self.spec.accounts:
            email = spec.email.lower()
            live = live_accounts.get(email)
            addr = address(Kind.ACCOUNT, email)
            if live is not None and live.id == self.live.management_account_id:
                self.warnings.append(f"{email} is the management account; orgkit does not "
                                     "manage it as a member account")
                continue
            if spec.state != "active":
                if live is not None and live.status not in CLOSED_STATUSES:
                    self.destructive.append(
                        Change(addr, Kind.ACCOUNT, Action.DELETE,
                               {"email": email, "name": live.name, "id": live.id,
                                "ou": self._account_ou(live)},
                               {"state": spec.state}, destructive=True)
                    )
                continue
            if live is None:
                new = self._new_account(spec)
                if spec.name in pending:
                    new["resume_request_id"] = pending[spec.name].request_id
                creates.append(Change(addr, Kind.ACCOUNT, Action.CREATE, None, new))
                continue
            if live.status in CLOSED_STATUSES:
                self.warnings.append(
                    f"account {email} ({live.id}) is {live.status}; org.yaml says active, "
                    "and a closed account cannot be reopened by orgkit"
                )
                continue
            before: dict[str, Any] = {}
            after: dict[str, Any] = {}
            current_ou = self._account_ou(live)
            if current_ou != spec.ou:
                before["ou"], after["ou"] = current_ou, spec.ou
                before["parent_id"] = live.parent_id
            live_tags = live.tag_map
            if spec.tags and live_tags is not None:
                differing = {k: v for k, v in spec.tags.items() if live_tags.get(k) != v}
                if differing:
                    before["tags"] = {k: live_tags.get(k) for k in differing}
                    after["tags"] = differing
            if after:
                ids = {"email": email, "id": live.id}
                updates.append(
                    Change(addr, Kind.ACCOUNT, Action.UPDATE, {**ids, **before},
                           {**ids, **after})
                )
        self.changes += creates + updates
        declared = {a.email.lower() for a in self.spec.accounts}
        for live in self.live.accounts:
            if live.id == self.live.management_account_id:
                continue
            if live.email.lower() not in declared:
                self.unmanaged.append(
                    Unmanaged(address(Kind.ACCOUNT, live.email.lower()), Kind.ACCOUNT,
                              f"account {live.id} ({live.name}) in {self._account_ou(live)} "
                              "not in org.yaml")
                )

    def _new_account(self, spec: AccountSpec) -> dict[str, Any]:
        tags = {
            **self.spec.organization.tags,
            "Environment": spec.environment.value,
            **({"Project": spec.project} if spec.project else {}),
            **spec.tags,
            MANAGED_BY[0]: MANAGED_BY[1],
        }
        return {
            "name": spec.name,
            "email": spec.email.lower(),
            "ou": spec.ou,
            "environment": spec.environment.value,
            "project": spec.project,
            "access_role": self.spec.access_role(spec),
            "tags": tags,
        }

    # -- attachments ----------------------------------------------------------------------
    def _desired_targets(self) -> dict[str, set[str]]:
        desired: dict[str, set[str]] = {p.name: set() for p in self.spec.policies}
        for name in self.spec.organization.policies:
            desired[name].add(ROOT_PATH)
        for path, ou, _ in self.spec.walk_ous():
            if ou.state == "present":
                for name in ou.policies:
                    desired[name].add(path)
        for account in self.spec.accounts:
            if account.state == "active":
                for name in account.policies:
                    desired[name].add(account.email.lower())
        return desired

    def _attachments(self, to_accounts: bool) -> None:
        """Attachments to accounts (``to_accounts``) or to the root and OUs."""

        def in_scope(target: str) -> bool:
            return target.startswith("/") is not to_accounts

        desired = self._desired_targets()
        for policy in self.spec.policies:
            if policy.state == "absent":
                continue
            live = self.live.policy_by_name.get(policy.name)
            live_targets = {self._target_name(t): t for t in (live.targets if live else ())
                            if in_scope(self._target_name(t))}
            wanted = {t for t in desired[policy.name] if in_scope(t)}
            for target in sorted(wanted - set(live_targets)):
                self.changes.append(
                    Change(address(Kind.POLICY_ATTACHMENT, policy.name, target),
                           Kind.POLICY_ATTACHMENT, Action.CREATE, None,
                           {"policy": policy.name, "target": target})
                )
            for target in sorted(set(live_targets) - wanted):
                assert live is not None
                self._detach(policy.name, live.id, live_targets[target])

    # -- roles ------------------------------------------------------------------------------
    def _roles(self) -> None:
        live_ids = {email: a.id for email, a in self.live.account_by_email.items()}
        for wanted in wanted_roles(
            self.spec, self.config.execution_permissions, self.live.management_account_id,
            self.live.organization_id, live_ids,
        ):
            owner = wanted.account.email.lower() if wanted.account else "management"
            addr = address(Kind.DEPLOYMENT_ROLE, owner, wanted.role.role_name)
            after = {
                "account_email": wanted.account.email.lower() if wanted.account else None,
                "account_id": wanted.account_id,
                "access_role": wanted.access_role,
                **wanted.role.to_dict(),
            }
            if wanted.account_id is None:
                self.changes.append(Change(addr, Kind.DEPLOYMENT_ROLE, Action.CREATE, None, after))
                continue
            live = self.live.role(wanted.account_id, wanted.role.role_name)
            if live is None:
                # Not read: the account is closed or unreachable; plan says nothing it can't know.
                continue
            if not live.exists:
                self.changes.append(Change(addr, Kind.DEPLOYMENT_ROLE, Action.CREATE, None, after))
                continue
            differ = _role_differences(wanted.role, live, wanted.account_id)
            if differ:
                self.changes.append(Change(
                    addr, Kind.DEPLOYMENT_ROLE, Action.UPDATE,
                    {**(_role_state(live) or {}), "differs": differ}, after,
                ))

    # -- budgets ----------------------------------------------------------------------------
    def _budgets(self) -> None:
        settings = self.spec.budgets
        if settings is None:
            return
        wanted_names = set()
        subscribers = sorted(
            [["EMAIL", str(e)] for e in settings.emails]
            + ([["SNS", settings.sns_topic_arn]] if settings.sns_topic_arn else [])
        )
        notifications = sorted(
            ({"type": n.type, "threshold": float(n.threshold), "comparison": "GREATER_THAN",
              "threshold_type": "PERCENTAGE", "subscribers": subscribers}
             for n in settings.notifications),
            key=lambda n: (n["type"], n["threshold"]),
        )
        for account in self.spec.accounts:
            if account.state != "active":
                continue
            email = account.email.lower()
            live_account = self.live.account_by_email.get(email)
            if live_account is not None and live_account.status in CLOSED_STATUSES:
                continue
            account_id = live_account.id if live_account else None
            name = budget_name(account_id or ACCOUNT_ID)
            wanted_names.add(name)
            amount = account.budget if account.budget is not None else settings.amounts[
                account.environment]
            after = {
                "name": name,
                "account_email": email,
                "account_id": account_id,
                "amount": float(amount),
                "currency": settings.currency,
                "time_unit": "MONTHLY",
                "notifications": notifications,
            }
            addr = address(Kind.BUDGET, email)
            live = self.live.budget_by_name.get(name) if account_id else None
            if live is None:
                self.changes.append(Change(addr, Kind.BUDGET, Action.CREATE, None, after))
                continue
            before = {
                "name": live.name,
                "account_email": email,
                "account_id": account_id,
                "amount": live.amount,
                "currency": live.currency,
                "time_unit": live.time_unit,
                "linked_accounts": list(live.linked_accounts),
                "notifications": [
                    {"type": n.type, "threshold": n.threshold, "comparison": n.comparison,
                     "threshold_type": n.threshold_type,
                     "subscribers": [list(s) for s in n.subscribers]}
                    for n in live.notifications
                ],
            }
            if (live.amount != after["amount"] or live.currency != after["currency"]
                    or list(live.linked_accounts) != [account_id]
                    or before["notifications"] != notifications
                    or live.time_unit != after["time_unit"]):
                self.changes.append(Change(addr, Kind.BUDGET, Action.UPDATE, before, after))
        for live_budget in self.live.budgets:
            if live_budget.name not in wanted_names:
                self.unmanaged.append(Unmanaged(
                    address(Kind.BUDGET, live_budget.name), Kind.BUDGET,
                    f"budget {live_budget.name} matches no declared active account"))

    def _target_name(self, target_id: str) -> str:
        return self._renamed(self.live.target_name(target_id))

    def _detach(self, policy: str, policy_id: str, target_id: str) -> None:
        target = self._target_name(target_id)
        self.destructive.append(
            Change(address(Kind.POLICY_ATTACHMENT, policy, target), Kind.POLICY_ATTACHMENT,
                   Action.DELETE,
                   {"policy": policy, "policy_id": policy_id, "target": target,
                    "target_id": target_id},
                   None, destructive=True)
        )


def _role_state(live: LiveRole | None) -> dict[str, Any] | None:
    if live is None or not live.exists:
        return None
    return {
        "trust": live.trust,
        "permissions": live.permissions,
        "max_session_duration": live.max_session_duration,
        "boundary_arn": live.boundary_arn,
        "boundary": live.boundary,
        "oidc_provider": live.oidc_provider,
        "extra_policies": list(live.extra_policies),
    }


def _role_differences(wanted: RoleSpec, live: LiveRole, account_id: str) -> list[str]:
    """Which parts of a live role differ from what orgkit wants."""
    differ = []
    if not equivalent(live.trust, wanted.trust):
        differ.append("trust")
    if not equivalent(live.permissions, wanted.permissions):
        differ.append("permissions")
    if live.max_session_duration != wanted.max_session_duration:
        differ.append("max_session_duration")
    if wanted.boundary_name is not None:
        arn = f"arn:aws:iam::{account_id}:policy/{wanted.boundary_name}"
        if live.boundary_arn != arn or not equivalent(live.boundary, wanted.boundary):
            differ.append("boundary")
    if wanted.oidc_provider is not None and live.oidc_provider is False:
        differ.append("oidc_provider")
    if live.extra_policies:
        differ.append("extra_policies")
    return differ


_DESTROY_ORDER = {
    Kind.STACK_INSTANCE: 0,
    Kind.STACK_SET: 1,
    Kind.POLICY_ATTACHMENT: 2,
    Kind.ACCOUNT: 3,
    Kind.POLICY: 4,
    Kind.OU: 5,
}


def _destroy_order(changes: list[Change]) -> list[Change]:
    """Detach first, then accounts, policies, and OUs deepest first."""

    def key(change: Change) -> tuple[int, int]:
        depth = 0
        if change.kind is Kind.OU and change.before:
            depth = -change.before["path"].count("/")
        return (_DESTROY_ORDER[change.kind], depth)

    return sorted(changes, key=key)
