"""Budgets calls moto 5.2 lacks, added to the sandbox's own moto (in this process only).

moto stores budgets and their subscribers but implements neither ``UpdateBudget`` nor
``DescribeSubscribersForNotification``; without them a budget could be created but never
updated or compared. These extensions follow AWS's documented behaviour for the fields orgkit
uses (limit, time unit, cost filters; subscribers of one notification) and nothing more.
They change no production code path: orgkit sends the same calls to AWS.
"""

from __future__ import annotations

import json
from typing import Any

_installed = False


def install() -> None:
    """Teach moto's budgets service the two missing calls (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.budgets.exceptions import NotFoundException
    from moto.budgets.models import BudgetsBackend
    from moto.budgets.responses import BudgetsResponse

    def backend_update_budget(self: BudgetsBackend, account_id: str,
                              new_budget: dict[str, Any]) -> None:
        name = new_budget["BudgetName"]
        if name not in self.budgets[account_id]:
            raise NotFoundException(f"Unable to update budget: {name} - the budget doesn't "
                                    "exist.")
        stored = self.budgets[account_id][name].budget
        for key in ("BudgetLimit", "TimeUnit", "CostFilters", "CostTypes", "BudgetType"):
            if key in new_budget:
                stored[key] = new_budget[key]

    def backend_subscribers(self: BudgetsBackend, account_id: str, budget_name: str,
                            notification: dict[str, Any]) -> list[dict[str, Any]]:
        if budget_name not in self.budgets[account_id]:
            raise NotFoundException(f"Unable to get subscribers: {budget_name} - the budget "
                                    "doesn't exist.")
        for stored in self.budgets[account_id][budget_name].notifications:
            if _same_notification(stored.details, notification):
                return list(stored.subscribers)
        raise NotFoundException("Unable to get subscribers - the notification doesn't exist.")

    def update_budget(self: BudgetsResponse) -> str:
        self.backend.update_budget(self._get_param("AccountId"), self._get_param("NewBudget"))
        return json.dumps({})

    def describe_subscribers_for_notification(self: BudgetsResponse) -> str:
        subscribers = self.backend.describe_subscribers_for_notification(
            self._get_param("AccountId"), self._get_param("BudgetName"),
            self._get_param("Notification"),
        )
        return json.dumps({"Subscribers": subscribers})

    BudgetsBackend.update_budget = backend_update_budget  # type: ignore[attr-defined]
    BudgetsBackend.describe_subscribers_for_notification = (  # type: ignore[attr-defined]
        backend_subscribers
    )
    BudgetsResponse.update_budget = update_budget  # type: ignore[attr-defined]
    BudgetsResponse.describe_subscribers_for_notification = (  # type: ignore[attr-defined]
        describe_subscribers_for_notification
    )
    _installed = True


def _same_notification(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("NotificationType", "ComparisonOperator", "ThresholdType")
    return all(a.get(k) == b.get(k) for k in keys) and float(a["Threshold"]) == float(
        b["Threshold"]
    )
