"""``budget``: one monthly cost budget per active account, kept in the management account
(where AWS keeps an organization's budgets), named by the account's id."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.changes import Action, Change, Side, Unmanaged, address
from orgkit.config.roles import ACCOUNT_ID, fill_account_id
from orgkit.kinds.account import CLOSED_STATUSES
from orgkit.kinds.base import (
    ApplyContext,
    BatchHandler,
    PlanContext,
    PlanPart,
    ReadContext,
    ResourceKind,
    SideModels,
    one_at_a_time,
)
from orgkit.live.model import LiveBudget, LiveNotification, LiveOrg
from orgkit.live.reader import parallel
from orgkit.live.session import AwsContext, aws_error
from orgkit.names import BUDGET_PREFIX

# What orgkit's budgets are: monthly cost budgets whose alerts fire above a percentage.
TIME_UNIT = "MONTHLY"
BUDGET_TYPE = "COST"
COMPARISON = "GREATER_THAN"
THRESHOLD_TYPE = "PERCENTAGE"


def budget_name(account_id: str) -> str:
    """orgkit's budget for an account: the account id keeps it stable across renames."""
    return f"{BUDGET_PREFIX}monthly-{account_id}"


class Notification(Side):
    """One alert with its subscribers as (EMAIL|SNS, address) pairs."""

    type: str
    threshold: float
    comparison: str = COMPARISON
    threshold_type: str = THRESHOLD_TYPE
    subscribers: list[tuple[str, str]]


class WantedBudget(Side):
    """A budget as org.yaml wants it (``account_id`` None: the account is created first)."""

    name: str
    account_email: str
    account_id: str | None
    amount: float
    currency: str
    time_unit: str
    notifications: list[Notification]


class LiveBudgetState(Side):
    """A live budget as the plan saw it."""

    name: str
    account_email: str
    account_id: str | None
    amount: float
    currency: str
    time_unit: str
    linked_accounts: list[str]
    notifications: list[Notification]


# -- read -----------------------------------------------------------------------------------
PAGE_SIZE = 1000  # the largest page DescribeBudgets and DescribeBudgetNotificationsForAccount give
# What AWS answers when the caller may not make a call (the policy allows DescribeBudgets, say,
# but not DescribeBudgetNotificationsForAccount): the notifications are then read per budget.
DENIED = frozenset({"AccessDeniedException", "AccessDenied"})


def read_budgets(
    aws: AwsContext, management_account_id: str, accounts: frozenset[str] | None = None
) -> list[LiveBudget]:
    """orgkit's budgets with their notifications and subscribers; with ``accounts``, only the
    budgets of those account ids (``--target``: the others are listed but not read further).

    The budgets and their notifications are read in pages for the whole account
    (``DescribeBudgets``, ``DescribeBudgetNotificationsForAccount``); only the subscribers need
    a call per notification, as AWS has no call that lists them in bulk.
    """
    budgets = aws.client("budgets")
    try:
        pages = budgets.get_paginator("describe_budgets").paginate(
            AccountId=management_account_id, PaginationConfig={"PageSize": PAGE_SIZE}
        )
        found = [
            b
            for page in pages
            for b in page.get("Budgets", [])
            if b["BudgetName"].startswith(BUDGET_PREFIX)
            and (
                accounts is None
                or not accounts.isdisjoint(b.get("CostFilters", {}).get("LinkedAccount", []))
            )
        ]
    except budgets.exceptions.NotFoundException:  # no budgets at all
        return []
    except (ClientError, BotoCoreError) as exc:
        raise aws_error("reading the budgets", exc) from exc
    if not found:
        return []
    names = [b["BudgetName"] for b in found]
    try:
        notifications = notifications_in_bulk(budgets, management_account_id, names)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in DENIED:
            raise aws_error("reading budget notifications", exc) from exc
        notifications = None
    except BotoCoreError as exc:
        raise aws_error("reading budget notifications", exc) from exc
    try:
        if notifications is None:
            notifications = notifications_per_budget(budgets, management_account_id, names)
        alerts = [(name, n) for name in names for n in notifications[name]]
        subscribers = parallel(
            lambda alert: _subscribers_of(budgets, management_account_id, *alert), alerts
        )
    except (ClientError, BotoCoreError) as exc:
        raise aws_error("reading budget notifications", exc) from exc
    read: dict[str, list[LiveNotification]] = {name: [] for name in names}
    for (name, notification), found_subscribers in zip(alerts, subscribers, strict=True):
        read[name].append(
            LiveNotification(
                type=notification["NotificationType"],
                threshold=float(notification["Threshold"]),
                comparison=notification["ComparisonOperator"],
                threshold_type=notification.get("ThresholdType", THRESHOLD_TYPE),
                subscribers=tuple(sorted(found_subscribers)),
            )
        )
    return [_live_budget(budget, read[budget["BudgetName"]]) for budget in found]


def notifications_in_bulk(
    budgets: Any, account_id: str, names: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """The notifications of each of ``names``, from ``DescribeBudgetNotificationsForAccount``
    in pages of 1000 budgets (a budget the answer does not list gets an empty list)."""
    wanted: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    try:
        pages = budgets.get_paginator("describe_budget_notifications_for_account").paginate(
            AccountId=account_id, PaginationConfig={"PageSize": PAGE_SIZE}
        )
        for page in pages:
            for entry in page.get("BudgetNotificationsForAccount", []):
                if entry.get("BudgetName") in wanted:
                    wanted[entry["BudgetName"]] += entry.get("Notifications", [])
    except budgets.exceptions.NotFoundException:  # no budget has a notification
        pass
    return wanted


def notifications_per_budget(
    budgets: Any, account_id: str, names: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """The notifications of each of ``names``, one ``DescribeNotificationsForBudget`` each
    (where the caller may not list them in bulk)."""

    def of(name: str) -> list[dict[str, Any]]:
        return [
            notification
            for page in budgets.get_paginator("describe_notifications_for_budget").paginate(
                AccountId=account_id, BudgetName=name
            )
            for notification in page.get("Notifications", [])
        ]

    return dict(zip(names, parallel(of, names), strict=True))


def _subscribers_of(
    budgets: Any, account_id: str, name: str, notification: dict[str, Any]
) -> list[tuple[str, str]]:
    return [
        (s["SubscriptionType"], s["Address"])
        for page in budgets.get_paginator("describe_subscribers_for_notification").paginate(
            AccountId=account_id, BudgetName=name, Notification=notification
        )
        for s in page.get("Subscribers", [])
    ]


def _live_budget(budget: dict[str, Any], notifications: list[LiveNotification]) -> LiveBudget:
    limit = budget.get("BudgetLimit", {})
    return LiveBudget(
        name=budget["BudgetName"],
        amount=float(limit.get("Amount", 0)),
        currency=limit.get("Unit", ""),
        time_unit=budget.get("TimeUnit", ""),
        linked_accounts=tuple(sorted(budget.get("CostFilters", {}).get("LinkedAccount", []))),
        notifications=tuple(sorted(notifications, key=lambda n: (n.type, n.threshold))),
    )


# -- apply ----------------------------------------------------------------------------------
def _budget(name: str, after: WantedBudget, account_id: str) -> dict[str, Any]:
    return {
        "BudgetName": name,
        "BudgetLimit": {"Amount": f"{after.amount:.2f}", "Unit": after.currency},
        "TimeUnit": after.time_unit,
        "BudgetType": BUDGET_TYPE,
        "CostFilters": {"LinkedAccount": [account_id]},
    }


def _notification(notification: Notification) -> dict[str, Any]:
    return {
        "NotificationType": notification.type,
        "ComparisonOperator": notification.comparison,
        "Threshold": notification.threshold,
        "ThresholdType": notification.threshold_type,
    }


def _subscribers(notification: Notification) -> list[dict[str, str]]:
    return [{"SubscriptionType": kind, "Address": to} for kind, to in notification.subscribers]


def create(ctx: ApplyContext, change: Change) -> str:
    """CreateBudget with its notifications, in the management account."""
    after = change.new(WantedBudget)
    account_id, _ = ctx.ids.account(after.account_email, after.account_id)
    name = fill_account_id(after.name, account_id)
    ctx.aws.client("budgets").create_budget(
        AccountId=ctx.management_id,
        Budget=_budget(name, after, account_id),
        NotificationsWithSubscribers=[
            {"Notification": _notification(n), "Subscribers": _subscribers(n)}
            for n in after.notifications
        ],
    )
    return f"{name}: {after.amount:g} {after.currency} a month"


def update(ctx: ApplyContext, change: Change) -> str:
    """UpdateBudget where the limit, period or filter differ; notifications one by one."""
    before, after = change.old(LiveBudgetState), change.new(WantedBudget)
    account_id = str(after.account_id)
    budgets = ctx.aws.client("budgets")
    done = []
    if (before.amount, before.currency, before.linked_accounts, before.time_unit) != (
        after.amount,
        after.currency,
        [account_id],
        after.time_unit,
    ):
        budgets.update_budget(
            AccountId=ctx.management_id, NewBudget=_budget(after.name, after, account_id)
        )
        done.append(f"{after.amount:g} {after.currency} a month")
    for notification in before.notifications:
        if notification not in after.notifications:
            budgets.delete_notification(
                AccountId=ctx.management_id,
                BudgetName=after.name,
                Notification=_notification(notification),
            )
            done.append(f"removed {notification.type} {notification.threshold:g}%")
    for notification in after.notifications:
        if notification not in before.notifications:
            budgets.create_notification(
                AccountId=ctx.management_id,
                BudgetName=after.name,
                Notification=_notification(notification),
                Subscribers=_subscribers(notification),
            )
            done.append(f"added {notification.type} {notification.threshold:g}%")
    return ", ".join(done)


def _alerts(notifications: list[Notification]) -> str:
    def one(n: Notification) -> str:
        text = f"{n.type.lower()} {n.threshold:g}"
        text += "%" if n.threshold_type == THRESHOLD_TYPE else " absolute"
        if n.comparison != COMPARISON:
            text += f" ({n.comparison.lower()})"
        return text

    return ", ".join(one(n) for n in notifications)


class BudgetKind(ResourceKind):
    """A monthly budget per active account, with the declared alerts; budgets with orgkit's
    prefix that match no declared account are unmanaged."""

    kind = "budget"
    heading = "Budgets"
    order = 70
    needs = frozenset()
    provides = frozenset({"budgets"})
    destroy_rank = 7  # never planned: orgkit leaves budgets of removed accounts alone
    destroy_flag = "allow_destroy"
    belongs_to = "account"
    models: ClassVar[Mapping[Action, SideModels]] = {
        Action.CREATE: (None, WantedBudget),
        Action.UPDATE: (LiveBudgetState, WantedBudget),
    }

    def read(self, ctx: ReadContext, live: LiveOrg) -> LiveOrg:
        """Every orgkit budget in the management account, in pages, with notifications and
        subscribers; nothing when org.yaml declares no budgets."""
        if ctx.config.spec.budgets is None:
            return live
        found = read_budgets(ctx.aws, live.management_account_id, ctx.targeted_ids(live))
        return replace(live, budgets=tuple(found))

    def plan(self, ctx: PlanContext) -> PlanPart:
        part = PlanPart()
        settings = ctx.spec.budgets
        if settings is None:
            return part
        subscribers = sorted(
            [("EMAIL", str(e)) for e in settings.emails]
            + ([("SNS", settings.sns_topic_arn)] if settings.sns_topic_arn else [])
        )
        notifications = sorted(
            (
                Notification(type=n.type, threshold=float(n.threshold), subscribers=subscribers)
                for n in settings.notifications
            ),
            key=lambda n: (n.type, n.threshold),
        )
        wanted_names = set()
        for account in ctx.spec.accounts:
            if account.state != "active":
                continue
            email = account.email.lower()
            live_account = ctx.live.account_by_email.get(email)
            if live_account is not None and live_account.status in CLOSED_STATUSES:
                continue
            account_id = live_account.id if live_account else None
            name = budget_name(account_id or ACCOUNT_ID)
            wanted_names.add(name)
            amount = (
                account.budget
                if account.budget is not None
                else settings.amounts[account.environment]
            )
            after = WantedBudget(
                name=name,
                account_email=email,
                account_id=account_id,
                amount=float(amount),
                currency=settings.currency,
                time_unit=TIME_UNIT,
                notifications=notifications,
            )
            addr = address(self.kind, email)
            live = ctx.live.budget_by_name.get(name) if account_id else None
            if live is None:
                part.changes.append(Change(addr, self.kind, Action.CREATE, None, after))
                continue
            before = LiveBudgetState(
                name=live.name,
                account_email=email,
                account_id=account_id,
                amount=live.amount,
                currency=live.currency,
                time_unit=live.time_unit,
                linked_accounts=list(live.linked_accounts),
                notifications=[
                    Notification(
                        type=n.type,
                        threshold=n.threshold,
                        comparison=n.comparison,
                        threshold_type=n.threshold_type,
                        subscribers=list(n.subscribers),
                    )
                    for n in live.notifications
                ],
            )
            if (
                live.amount,
                live.currency,
                list(live.linked_accounts),
                live.time_unit,
                before.notifications,
            ) != (after.amount, after.currency, [account_id], after.time_unit, notifications):
                part.changes.append(Change(addr, self.kind, Action.UPDATE, before, after))
        for live_budget in ctx.live.budgets:
            if live_budget.name not in wanted_names:
                part.unmanaged.append(
                    Unmanaged(
                        address(self.kind, live_budget.name),
                        self.kind,
                        f"budget {live_budget.name} matches no declared active account",
                    )
                )
        return part

    @property
    def handlers(self) -> Mapping[Action, BatchHandler]:
        return {Action.CREATE: one_at_a_time(create), Action.UPDATE: one_at_a_time(update)}

    def describe(self, change: Change) -> list[str]:
        after = change.new(WantedBudget)
        if change.action is Action.CREATE:
            return [
                f"{after.amount:g} {after.currency} a month; alerts at "
                f"{_alerts(after.notifications)}"
            ]
        before = change.old(LiveBudgetState)
        lines = []
        if (before.amount, before.currency) != (after.amount, after.currency):
            lines.append(
                f"amount: {before.amount:g} {before.currency} -> {after.amount:g} {after.currency}"
            )
        if before.notifications != after.notifications:
            lines.append(
                f"alerts: {_alerts(before.notifications) or 'none'} -> "
                f"{_alerts(after.notifications)}"
            )
            old = [n.subscribers for n in before.notifications]
            new = [n.subscribers for n in after.notifications]
            if old != new:
                lines.append(
                    "subscribers: "
                    + ", ".join(f"{kind.lower()} {to}" for kind, to in (new[0] if new else []))
                )
        if before.time_unit != after.time_unit:
            lines.append(f"period: {before.time_unit} -> {after.time_unit}")
        if before.linked_accounts != [after.account_id]:
            lines.append(f"filter: {before.linked_accounts} -> [{after.account_id}]")
        return lines


KIND = BudgetKind()
