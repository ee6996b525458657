"""The budgets reader against botocore's Stubber: the requests it makes (pages of 1000 budgets,
the notifications of every budget in one paged call, one subscribers call per notification) and
what it makes of a refusal of the bulk call or another error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from orgkit.errors import AwsError
from orgkit.kinds.budget import read_budgets
from orgkit.live.model import LiveBudget, LiveNotification
from orgkit.live.session import AwsContext

MANAGEMENT = "123456789012"
A, B = "orgkit-monthly-111111111111", "orgkit-monthly-222222222222"
ALERT = {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 80.0}
FORECAST = {**ALERT, "NotificationType": "FORECASTED", "Threshold": 100.0}


@pytest.fixture
def budgets(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AwsContext, Stubber]]:
    client = boto3.client(
        "budgets",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - fake
    )
    stubber = Stubber(client)
    aws = AwsContext(region="us-east-1")
    monkeypatch.setattr(AwsContext, "client", lambda self, service, region=None: client)
    # The Stubber answers in order and is not thread-safe: one call at a time here.
    monkeypatch.setattr("orgkit.kinds.budget.parallel", lambda fn, items: [fn(i) for i in items])
    with stubber:
        yield aws, stubber
    stubber.assert_no_pending_responses()


def budget(name: str, amount: str) -> dict[str, Any]:
    account = name.rsplit("-", 1)[1]
    return {
        "BudgetName": name,
        "BudgetLimit": {"Amount": amount, "Unit": "USD"},
        "TimeUnit": "MONTHLY",
        "BudgetType": "COST",
        "CostFilters": {"LinkedAccount": [account]},
    }


def described(stubber: Stubber) -> None:
    """Two orgkit budgets and one of someone else's, in two pages of DescribeBudgets."""
    stubber.add_response(
        "describe_budgets",
        {"Budgets": [budget(A, "100.0"), budget("team-budget-1", "9.0")], "NextToken": "t"},
        {"AccountId": MANAGEMENT, "MaxResults": 1000},
    )
    stubber.add_response(
        "describe_budgets",
        {"Budgets": [budget(B, "50.0")]},
        {"AccountId": MANAGEMENT, "MaxResults": 1000, "NextToken": "t"},
    )


def subscribers(stubber: Stubber, name: str, notification: dict[str, Any], to: str) -> None:
    stubber.add_response(
        "describe_subscribers_for_notification",
        {"Subscribers": [{"SubscriptionType": "EMAIL", "Address": to}]},
        {"AccountId": MANAGEMENT, "BudgetName": name, "Notification": notification},
    )


EXPECTED = [
    LiveBudget(
        name=A,
        amount=100.0,
        currency="USD",
        time_unit="MONTHLY",
        linked_accounts=("111111111111",),
        notifications=(
            LiveNotification(
                type="ACTUAL",
                threshold=80.0,
                comparison="GREATER_THAN",
                threshold_type="PERCENTAGE",
                subscribers=(("EMAIL", "a@example.com"),),
            ),
            LiveNotification(
                type="FORECASTED",
                threshold=100.0,
                comparison="GREATER_THAN",
                threshold_type="PERCENTAGE",
                subscribers=(("EMAIL", "b@example.com"),),
            ),
        ),
    ),
    LiveBudget(
        name=B,
        amount=50.0,
        currency="USD",
        time_unit="MONTHLY",
        linked_accounts=("222222222222",),
        notifications=(),
    ),
]


def test_notifications_of_every_budget_in_pages_then_subscribers(
    budgets: tuple[AwsContext, Stubber],
) -> None:
    aws, stubber = budgets
    described(stubber)
    stubber.add_response(
        "describe_budget_notifications_for_account",
        {
            "BudgetNotificationsForAccount": [
                {"BudgetName": "team-budget-1", "Notifications": [ALERT]},
                {"BudgetName": A, "Notifications": [FORECAST]},
            ],
            "NextToken": "n",
        },
        {"AccountId": MANAGEMENT, "MaxResults": 1000},
    )
    stubber.add_response(
        "describe_budget_notifications_for_account",
        {"BudgetNotificationsForAccount": [{"BudgetName": A, "Notifications": [ALERT]}]},
        {"AccountId": MANAGEMENT, "MaxResults": 1000, "NextToken": "n"},
    )
    # Budget B has no notification (not listed): no subscribers call for it, nor for the budget
    # that is not orgkit's.
    subscribers(stubber, A, FORECAST, "b@example.com")
    subscribers(stubber, A, ALERT, "a@example.com")
    assert read_budgets(aws, MANAGEMENT) == EXPECTED


def test_bulk_call_denied_reads_notifications_per_budget(
    budgets: tuple[AwsContext, Stubber],
) -> None:
    aws, stubber = budgets
    described(stubber)
    stubber.add_client_error(
        "describe_budget_notifications_for_account", "AccessDeniedException", "not allowed"
    )
    stubber.add_response(
        "describe_notifications_for_budget",
        {"Notifications": [FORECAST, ALERT]},
        {"AccountId": MANAGEMENT, "BudgetName": A},
    )
    stubber.add_response(
        "describe_notifications_for_budget",
        {"Notifications": []},
        {"AccountId": MANAGEMENT, "BudgetName": B},
    )
    subscribers(stubber, A, FORECAST, "b@example.com")
    subscribers(stubber, A, ALERT, "a@example.com")
    assert read_budgets(aws, MANAGEMENT) == EXPECTED


def test_another_error_of_the_bulk_call_is_an_orgkit_error(
    budgets: tuple[AwsContext, Stubber],
) -> None:
    aws, stubber = budgets
    described(stubber)
    stubber.add_client_error(
        "describe_budget_notifications_for_account", "InternalErrorException", "try later"
    )
    with pytest.raises(AwsError, match="reading budget notifications failed.*InternalError"):
        read_budgets(aws, MANAGEMENT)
