"""The organization as a picture and its money as a table: what `orgkit graph` and `orgkit costs`
show, built from org.yaml and (when read) the live organization and Cost Explorer. Pure: no AWS
calls here, so the views are tested from a snapshot."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

from orgkit.config.models import AccountSpec, Environment, OrgSpec, OUSpec, ou_path
from orgkit.live.costs import LiveCosts
from orgkit.live.model import LiveAccount, LiveOrg, LivePolicy
from orgkit.names import POLICY_TYPE_BY_NAME, ROOT_PATH, policy_label

# managed: declared and live; missing: declared, not live yet; creating: CreateAccount still in
# progress; unmanaged: live, not in org.yaml; management: the management account; declared:
# drawn offline, live state unknown.
NodeState = Literal["managed", "missing", "creating", "unmanaged", "management", "declared"]
# attached: declared and attached live; missing: declared, not attached yet; unmanaged:
# attached live, not in org.yaml; declared: drawn offline.
AttachmentState = Literal["attached", "missing", "unmanaged", "declared"]


@dataclass(frozen=True)
class GraphPolicy:
    """A policy attached (or to be attached) to a root, OU or account."""

    name: str
    type: str  # AWS's policy type, e.g. SERVICE_CONTROL_POLICY
    label: str  # how orgkit names the type, e.g. SCP
    state: AttachmentState


@dataclass(frozen=True)
class GraphAccount:
    """An account: declared, live, or both."""

    name: str
    email: str
    id: str | None
    state: NodeState
    environment: str | None = None
    project: str | None = None
    budget: float | None = None
    policies: tuple[GraphPolicy, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class GraphOU:
    """The root (path ``/``) or an OU, with what it holds."""

    path: str
    name: str
    id: str | None
    state: NodeState
    policies: tuple[GraphPolicy, ...] = ()
    accounts: tuple[GraphAccount, ...] = ()
    ous: tuple[GraphOU, ...] = ()
    note: str = ""

    def walk(self) -> Iterable[GraphOU]:
        """This OU and every OU below it, parents first."""
        yield self
        for child in self.ous:
            yield from child.walk()


@dataclass(frozen=True)
class OrgGraph:
    """The organization org.yaml declares, with live ids filled in (unless ``offline``)."""

    organization: str
    management_account_id: str
    offline: bool
    currency: str | None
    root: GraphOU

    def to_dict(self) -> dict[str, Any]:
        """The `orgkit graph --json` document."""
        return asdict(self)


# -- graph ------------------------------------------------------------------------------------
def _declared_attachments(spec: OrgSpec) -> dict[str, list[tuple[str, str]]]:
    """Target (``/``, an OU path or a lower-cased email) -> [(policy name, AWS type)]."""
    types = {p.name: POLICY_TYPE_BY_NAME[p.type].aws for p in spec.policies}
    wanted: dict[str, list[tuple[str, str]]] = {}

    def add(target: str, names: list[str]) -> None:
        wanted.setdefault(target, []).extend((n, types.get(n, "")) for n in names)

    add(ROOT_PATH, spec.organization.policies)
    for path, ou, _ in spec.walk_ous():
        add(path, ou.policies)
    for account in spec.accounts:
        add(account.email.lower(), account.policies)
    return wanted


def _policies(
    declared: list[tuple[str, str]], live: list[LivePolicy] | None
) -> tuple[GraphPolicy, ...]:
    """Declared attachments in org.yaml's order, then the live ones org.yaml does not declare.
    ``live`` None: drawn offline, or the target does not exist yet."""
    live_names = {p.name for p in live or ()}
    shown = []
    for name, policy_type in declared:
        if live is None:
            state: AttachmentState = "declared"
        else:
            state = "attached" if name in live_names else "missing"
        shown.append(GraphPolicy(name, policy_type, policy_label(policy_type), state))
    names = {name for name, _ in declared}
    for policy in sorted(live or (), key=lambda p: (p.type, p.name)):
        if policy.name not in names:
            shown.append(
                GraphPolicy(policy.name, policy.type, policy_label(policy.type), "unmanaged")
            )
    return tuple(shown)


@dataclass
class _Node:
    """A root or OU while the tree is assembled (parents know their children by path)."""

    path: str
    name: str
    id: str | None
    state: NodeState
    policies: tuple[GraphPolicy, ...]
    note: str = ""
    ous: list[str] = field(default_factory=list)
    accounts: list[GraphAccount] = field(default_factory=list)


def build_graph(spec: OrgSpec, live: LiveOrg | None) -> OrgGraph:
    """What org.yaml declares, with the live ids, states and attachments of ``live`` (None:
    offline), plus what is live but not declared, marked unmanaged."""
    declared = _declared_attachments(spec)
    attached: dict[str, list[LivePolicy]] = {}
    for policy in live.policies if live else ():
        if not policy.aws_managed:
            for target in policy.targets:
                attached.setdefault(target, []).append(policy)

    def live_policies(target_id: str | None) -> list[LivePolicy] | None:
        return None if live is None or target_id is None else attached.get(target_id, [])

    def state_of(found: bool) -> NodeState:
        return "declared" if live is None else ("managed" if found else "missing")

    root_id = live.root_id if live else None
    nodes: dict[str, _Node] = {
        ROOT_PATH: _Node(
            ROOT_PATH,
            spec.organization.name,
            root_id,
            state_of(True),
            _policies(declared.get(ROOT_PATH, []), live_policies(root_id)),
        )
    }
    consumed: set[str] = set()  # live OU paths drawn as a declared OU

    def add_ous(ous: list[OUSpec], parent: str) -> None:
        for ou in ous:
            path = ou_path(parent, ou.name)
            found = live.ou_by_path.get(path) if live else None
            note = ""
            if found is None and live is not None and ou.renamed_from:
                found = live.ou_by_path.get(ou_path(parent, ou.renamed_from))
                note = f"live as {ou.renamed_from!r}; apply renames it" if found else ""
            if ou.state == "absent":
                if found is None:
                    continue
                note = "declared absent: apply --allow-destroy deletes it"
            if found is not None:
                consumed.add(found.path)
            ou_id = found.id if found else None
            nodes[path] = _Node(
                path,
                ou.name,
                ou_id,
                state_of(found is not None),
                _policies(declared.get(path, []), live_policies(ou_id)),
                note,
            )
            nodes[parent].ous.append(path)
            add_ous(ou.children, path)

    add_ous(spec.ous, ROOT_PATH)
    if live is not None:
        for ou in sorted(live.ous, key=lambda o: o.path):  # parents before children
            if ou.path in consumed or ou.path in nodes:
                continue
            parent = live.path_by_id.get(ou.parent_id, ROOT_PATH)
            nodes[ou.path] = _Node(
                ou.path, ou.name, ou.id, "unmanaged", _policies([], live_policies(ou.id))
            )
            nodes[parent if parent in nodes else ROOT_PATH].ous.append(ou.path)

    budgets = spec.budgets
    pending = {p.account_name for p in live.pending_accounts} if live else set()
    emails = set()
    for account in spec.accounts:
        email = account.email.lower()
        emails.add(email)
        found_account = live.account_by_email.get(email) if live else None
        nodes[account.ou if account.ou in nodes else ROOT_PATH].accounts.append(
            _declared_account(spec, account, found_account, live, pending, declared, attached)
        )
    if live is not None:
        for found_account in sorted(live.accounts, key=lambda a: (a.name, a.id)):
            if found_account.email.lower() in emails:
                continue
            parent = live.path_by_id.get(found_account.parent_id, ROOT_PATH)
            management = found_account.id == live.management_account_id
            nodes[parent if parent in nodes else ROOT_PATH].accounts.append(
                GraphAccount(
                    found_account.name,
                    found_account.email,
                    found_account.id,
                    "management" if management else "unmanaged",
                    policies=_policies([], live_policies(found_account.id)),
                    note=_status_note(found_account),
                )
            )

    def freeze(path: str) -> GraphOU:
        node = nodes[path]
        return GraphOU(
            node.path,
            node.name,
            node.id,
            node.state,
            node.policies,
            tuple(node.accounts),
            tuple(freeze(child) for child in node.ous),
            node.note,
        )

    return OrgGraph(
        organization=spec.organization.name,
        management_account_id=(
            live.management_account_id if live else spec.organization.management_account_id
        ),
        offline=live is None,
        currency=budgets.currency if budgets else None,
        root=freeze(ROOT_PATH),
    )


def _status_note(account: LiveAccount) -> str:
    return "" if account.status == "ACTIVE" else f"status {account.status}"


def _declared_account(
    spec: OrgSpec,
    account: AccountSpec,
    found: LiveAccount | None,
    live: LiveOrg | None,
    pending: set[str],
    declared: dict[str, list[tuple[str, str]]],
    attached: dict[str, list[LivePolicy]],
) -> GraphAccount:
    """A declared account as the graph shows it."""
    notes = []
    state: NodeState
    if live is None:
        state = "declared"
    elif found is not None:
        state = "managed"
        where = live.path_by_id.get(found.parent_id, found.parent_id)
        if where != account.ou:
            notes.append(f"live in {where}; apply moves it")
        if status := _status_note(found):
            notes.append(status)
    elif account.name in pending:
        state = "creating"
    else:
        state = "missing"
    if account.state != "active":
        notes.append(f"declared {account.state}")
    budget = (
        spec.budgets.amount_for(account)
        if spec.budgets is not None and account.state == "active"
        else None
    )
    live_policies = None if live is None else (attached.get(found.id, []) if found else [])
    return GraphAccount(
        account.name,
        account.email.lower(),
        found.id if found else None,
        state,
        account.environment.value,
        account.project,
        budget,
        _policies(declared.get(account.email.lower(), []), live_policies),
        "; ".join(notes),
    )


# -- costs ------------------------------------------------------------------------------------
NO_PROJECT = "(no project)"
NOT_DECLARED = "(not in org.yaml)"


class _Verdicts:
    """What the costs view says of a line or a group: its budget against its target, and its
    spend (the month's forecast, else the actual so far) against its budget."""

    budget: float | None
    target: float | None
    actual: float | None
    forecast: float | None

    @property
    def above_target(self) -> bool:
        """The budget is set above what it is expected to cost."""
        return self.budget is not None and self.target is not None and self.budget > self.target

    @property
    def over_budget(self) -> bool:
        """The month's forecast (or, without one, the actual so far) exceeds the budget."""
        spent = self.forecast if self.forecast is not None else self.actual
        return self.budget is not None and spent is not None and spent > self.budget


@dataclass(frozen=True)
class CostLine(_Verdicts):
    """One account's budget, target and (when Cost Explorer answered) spend this month."""

    name: str
    email: str | None
    account_id: str | None
    environment: str | None
    project: str | None
    budget: float | None
    target: float | None
    actual: float | None
    forecast: float | None
    note: str = ""


@dataclass(frozen=True)
class CostGroup(_Verdicts):
    """Sums over the accounts of an environment, a project, or the whole organization.
    ``target`` is None unless every account of the group has one (a partial sum would
    compare unlike things)."""

    name: str
    accounts: int
    budget: float | None
    target: float | None
    actual: float | None
    forecast: float | None


@dataclass(frozen=True)
class RevenueShare:
    """Infrastructure's share of a monthly revenue, against org.yaml's maximum."""

    monthly_revenue: float
    max_share: float | None
    budget_share: float | None
    forecast_share: float | None

    @property
    def over(self) -> bool:
        """The forecast's share (or, without spend data, the budgets') is above the maximum."""
        share = self.forecast_share if self.forecast_share is not None else self.budget_share
        return self.max_share is not None and share is not None and share > self.max_share


@dataclass(frozen=True)
class SpendStatus:
    """Whether Cost Explorer gave spend data, for which month, and if not, why."""

    available: bool
    reason: str
    month_start: date | None
    today: date | None


@dataclass(frozen=True)
class CostReport:
    """What `orgkit costs` shows."""

    organization: str
    currency: str
    spend: SpendStatus
    accounts: tuple[CostLine, ...]
    environments: tuple[CostGroup, ...]
    projects: tuple[CostGroup, ...]
    total: CostGroup
    revenue: RevenueShare | None

    def to_dict(self) -> dict[str, Any]:
        """The `orgkit costs --json` document (docs/graph-and-costs.md)."""

        def line(item: CostLine | CostGroup) -> dict[str, Any]:
            data = asdict(item)
            data["above_target"] = item.above_target
            data["over_budget"] = item.over_budget
            return data

        spend = asdict(self.spend)
        for key in ("month_start", "today"):
            spend[key] = spend[key].isoformat() if spend[key] else None
        revenue = None
        if self.revenue is not None:
            revenue = {**asdict(self.revenue), "over": self.revenue.over}
        return {
            "organization": self.organization,
            "currency": self.currency,
            "spend": spend,
            "accounts": [line(a) for a in self.accounts],
            "environments": [line(g) for g in self.environments],
            "projects": [line(g) for g in self.projects],
            "total": line(self.total),
            "revenue": revenue,
        }


def _sum(values: list[float | None], *, all_needed: bool = False) -> float | None:
    known = [v for v in values if v is not None]
    if not known or (all_needed and len(known) != len(values)):
        return None
    return round(sum(known), 2)


def _group(name: str, lines: list[CostLine], spend: bool) -> CostGroup:
    return CostGroup(
        name,
        len(lines),
        _sum([line.budget for line in lines]),
        _sum([line.target for line in lines], all_needed=True),
        _sum([line.actual for line in lines]) if spend else None,
        # An account without a forecast (too little history) counts with its actual so far.
        _sum([_forecast_or_actual(line) for line in lines if line.account_id]) if spend else None,
    )


def _forecast_or_actual(line: CostLine) -> float | None:
    return line.forecast if line.forecast is not None else line.actual


def build_costs(
    spec: OrgSpec,
    accounts: tuple[LiveAccount, ...] | None,
    costs: LiveCosts | None,
    *,
    offline_reason: str = "",
    monthly_revenue: float | None = None,
) -> CostReport:
    """Budgets and targets of the active declared accounts, per environment and project, beside
    Cost Explorer's actual and forecast (``costs`` None or unavailable: budgets only).
    ``accounts`` are the live ones (None: offline), to put ids to emails and name the
    accounts Cost Explorer reports that org.yaml does not declare."""
    budgets = spec.budgets
    live_by_email = {a.email.lower(): a for a in accounts or ()}
    spent = costs.by_account if costs is not None and costs.available else {}
    have_spend = bool(costs is not None and costs.available)
    lines: list[CostLine] = []
    for account in spec.accounts:
        if account.state != "active":
            continue
        found = live_by_email.get(account.email.lower())
        spend = spent.get(found.id) if found else None
        lines.append(
            CostLine(
                account.name,
                account.email.lower(),
                found.id if found else None,
                account.environment.value,
                account.project,
                budgets.amount_for(account) if budgets else None,
                budgets.target_for(account) if budgets else None,
                (spend.actual if spend else 0.0) if have_spend and found else None,
                spend.forecast if spend else None,
                spend.note if spend else ("" if found or accounts is None else "not created yet"),
            )
        )
    declared_ids = {line.account_id for line in lines if line.account_id}
    names = {a.id: a.name for a in accounts or ()}
    for account_id, spend in sorted(spent.items()):
        if account_id in declared_ids or (spend.actual == 0 and not spend.forecast):
            continue
        lines.append(
            CostLine(
                names.get(account_id, account_id),
                None,
                account_id,
                None,
                None,
                None,
                None,
                spend.actual,
                spend.forecast,
                "not in org.yaml",
            )
        )

    def grouped(key: str, order: list[str]) -> tuple[CostGroup, ...]:
        groups: dict[str, list[CostLine]] = {}
        for line in lines:
            value = getattr(line, key)
            label = value or (NO_PROJECT if key == "project" and line.email else NOT_DECLARED)
            groups.setdefault(label, []).append(line)
        ranked = sorted(groups, key=lambda g: order.index(g) if g in order else len(order))
        return tuple(_group(name, groups[name], have_spend) for name in ranked)

    total = _group("total", lines, have_spend)
    revenue = None
    if monthly_revenue is not None:
        revenue = RevenueShare(
            monthly_revenue,
            budgets.max_revenue_share if budgets else None,
            _share(total.budget, monthly_revenue),
            _share(total.forecast, monthly_revenue),
        )
    if costs is None:
        status = SpendStatus(False, offline_reason, None, None)
    else:
        status = SpendStatus(costs.available, costs.reason, costs.month_start, costs.today)
    currency = budgets.currency if budgets else (costs.currency if costs else "USD")
    return CostReport(
        spec.organization.name,
        currency,
        status,
        tuple(lines),
        grouped("environment", [e.value for e in Environment] + [NOT_DECLARED]),
        grouped("project", [p.name for p in spec.projects] + [NO_PROJECT, NOT_DECLARED]),
        total,
        revenue,
    )


def _share(amount: float | None, revenue: float) -> float | None:
    return None if amount is None else 100 * amount / revenue
