"""The Cost Explorer reader against botocore's Stubber: the requests it makes (periods, grouping,
paging), and what it makes of AWS's answers and refusals. The sandbox has no spend data, so the
path where Cost Explorer answers is shown here."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from orgkit.errors import AwsError
from orgkit.live.costs import read_costs
from orgkit.live.session import AwsContext

A, B, C = "111111111111", "222222222222", "333333333333"


@pytest.fixture
def ce(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AwsContext, Stubber]]:
    client = boto3.client(
        "ce",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - fake
    )
    stubber = Stubber(client)
    aws = AwsContext(region="eu-west-1")
    asked: list[tuple[str, str | None]] = []

    def fake_client(self: AwsContext, service: str, region: str | None = None) -> Any:
        asked.append((service, region))
        return client

    monkeypatch.setattr(AwsContext, "client", fake_client)
    # The Stubber answers in order and is not thread-safe: forecasts one at a time here.
    monkeypatch.setattr("orgkit.live.costs.parallel", lambda fn, items: [fn(i) for i in items])
    with stubber:
        yield aws, stubber
    stubber.assert_no_pending_responses()
    assert set(asked) == {("ce", "us-east-1")}  # Cost Explorer's one region, whatever --region


def usage_page(groups: dict[str, str], token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": "2026-05-01", "End": "2026-05-20"},
                "Total": {},
                "Groups": [
                    {"Keys": [k], "Metrics": {"UnblendedCost": {"Amount": v, "Unit": "USD"}}}
                    for k, v in groups.items()
                ],
                "Estimated": True,
            }
        ]
    }
    if token:
        page["NextPageToken"] = token
    return page


USAGE = {
    "TimePeriod": {"Start": "2026-05-01", "End": "2026-05-20"},
    "Granularity": "MONTHLY",
    "Metrics": ["UnblendedCost"],
    "GroupBy": [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
}


def forecast_request(account_id: str) -> dict[str, Any]:
    return {
        "TimePeriod": {"Start": "2026-05-20", "End": "2026-06-01"},
        "Metric": "UNBLENDED_COST",
        "Granularity": "MONTHLY",
        "Filter": {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [account_id]}},
    }


def test_actuals_in_pages_and_a_forecast_per_account(ce: tuple[AwsContext, Stubber]) -> None:
    aws, stubber = ce
    stubber.add_response("get_cost_and_usage", usage_page({A: "10.5", C: "1.25"}, "next"), USAGE)
    stubber.add_response(
        "get_cost_and_usage", usage_page({B: "40"}), {**USAGE, "NextPageToken": "next"}
    )
    stubber.add_response(
        "get_cost_forecast",
        {"Total": {"Amount": "9.5", "Unit": "USD"}},
        forecast_request(A),
    )
    stubber.add_client_error(
        "get_cost_forecast",
        "DataUnavailableException",
        "Insufficient amount of historical data to generate forecast.",
        expected_params=forecast_request(B),
    )
    # Forecasts are asked in account id order.
    costs = read_costs(aws, [B, A], date(2026, 5, 20))
    assert costs.available and costs.currency == "USD"
    assert (costs.month_start, costs.today) == (date(2026, 5, 1), date(2026, 5, 20))
    spend = costs.by_account
    assert (spend[A].actual, spend[A].forecast) == (10.5, 20.0)
    assert (spend[B].actual, spend[B].forecast) == (40.0, None)
    assert spend[B].note == "no forecast: too little history"
    assert (spend[C].actual, spend[C].forecast) == (1.25, None)  # not asked for a forecast


def test_no_forecast_asked_and_none_made(ce: tuple[AwsContext, Stubber]) -> None:
    aws, stubber = ce
    stubber.add_response("get_cost_and_usage", usage_page({A: "3"}), USAGE)
    costs = read_costs(aws, [A, B], date(2026, 5, 20), forecast=False)
    assert [(s.account_id, s.actual, s.forecast) for s in costs.accounts] == [(A, 3.0, None)]


def test_on_the_first_of_the_month_there_is_no_complete_day_to_ask_about(
    ce: tuple[AwsContext, Stubber],
) -> None:
    aws, stubber = ce
    stubber.add_response(
        "get_cost_forecast",
        {"Total": {"Amount": "100", "Unit": "USD"}},
        {**forecast_request(A), "TimePeriod": {"Start": "2026-12-01", "End": "2027-01-01"}},
    )
    costs = read_costs(aws, [A], date(2026, 12, 1))
    assert [(s.account_id, s.actual, s.forecast) for s in costs.accounts] == [(A, 0.0, 100.0)]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("AccessDeniedException", "User not enabled for cost explorer access"),
        ("AccessDeniedException", "User: arn:aws:iam::1:user/x is not authorized"),
        ("DataUnavailableException", "Data is not available."),
    ],
)
def test_cost_explorer_off_or_denied_is_said_not_raised(
    ce: tuple[AwsContext, Stubber], code: str, message: str
) -> None:
    aws, stubber = ce
    stubber.add_client_error("get_cost_and_usage", code, message)
    costs = read_costs(aws, [A], date(2026, 5, 20))
    assert not costs.available
    assert costs.reason == f"Cost Explorer: {message}"
    assert costs.accounts == ()


def test_another_error_is_an_orgkit_error(ce: tuple[AwsContext, Stubber]) -> None:
    aws, stubber = ce
    stubber.add_client_error("get_cost_and_usage", "InvalidNextTokenException", "bad token")
    with pytest.raises(AwsError, match="reading this month's costs from Cost Explorer"):
        read_costs(aws, [A], date(2026, 5, 20))
