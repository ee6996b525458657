"""The month's spend per account from Cost Explorer, read from the management account.

Cost Explorer charges for every API request (USD 0.01 at the time of writing): the month's
actual costs are one paged GetCostAndUsage grouped by linked account, the forecasts one
GetCostForecast per account asked for (none with ``forecast=False``).

Where Cost Explorer cannot answer (not enabled for the account, access denied, no data yet),
the result says so and why instead of raising: a costs report then shows budgets only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.live.reader import parallel
from orgkit.live.session import AwsContext, aws_error, error_code

# Cost Explorer's API lives in us-east-1 whatever region the caller uses.
CE_REGION = "us-east-1"
METRIC = "UnblendedCost"
FORECAST_METRIC = "UNBLENDED_COST"
# What Cost Explorer answers when it has nothing to give this caller, rather than a fault:
# not enabled ("User not enabled for cost explorer access"), denied, or no data yet.
UNAVAILABLE_CODES = frozenset(
    {"AccessDeniedException", "AccessDenied", "DataUnavailableException", "BillExpirationException"}
)
CE_HINT = (
    "Cost Explorer is read from the management account and needs ce:GetCostAndUsage and "
    "ce:GetCostForecast."
)


@dataclass(frozen=True)
class AccountSpend:
    """One account's spend this month: ``actual`` for the complete days so far, ``forecast``
    the month's expected total (actual plus Cost Explorer's forecast of the rest), None when
    Cost Explorer gave none for it (``note`` says why)."""

    account_id: str
    actual: float
    forecast: float | None
    note: str = ""


@dataclass(frozen=True)
class LiveCosts:
    """What Cost Explorer said about the month, or why it said nothing (``available`` False)."""

    available: bool
    reason: str
    currency: str
    month_start: date
    today: date
    accounts: tuple[AccountSpend, ...] = ()

    @property
    def by_account(self) -> dict[str, AccountSpend]:
        """Spend keyed by account id."""
        return {a.account_id: a for a in self.accounts}


def month_bounds(today: date) -> tuple[date, date]:
    """The first day of ``today``'s month and the first day of the next one."""
    start = today.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following


def unavailable(reason: str, today: date, currency: str = "USD") -> LiveCosts:
    """A result that says Cost Explorer gave no spend data, and why."""
    start, _ = month_bounds(today)
    return LiveCosts(False, reason, currency, start, today)


def _actuals(ce: Any, start: date, today: date) -> tuple[dict[str, float], str | None]:
    """Cost per linked account for [start, today): complete days only (End is exclusive)."""
    if today <= start:  # the first of the month: no complete day yet
        return {}, None
    amounts: dict[str, float] = {}
    unit = None
    request: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": today.isoformat()},
        "Granularity": "MONTHLY",
        "Metrics": [METRIC],
        "GroupBy": [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
    }
    while True:
        page = ce.get_cost_and_usage(**request)
        for period in page.get("ResultsByTime", []):
            for group in period.get("Groups", []):
                metric = group["Metrics"][METRIC]
                account_id = group["Keys"][0]
                amounts[account_id] = amounts.get(account_id, 0.0) + float(metric["Amount"])
                unit = unit or metric.get("Unit")
        token = page.get("NextPageToken")
        if not token:
            return amounts, unit
        request["NextPageToken"] = token


def _forecast(ce: Any, account_id: str, today: date, end: date) -> tuple[float | None, str]:
    """Cost Explorer's forecast for the rest of the month, [today, end), for one account."""
    try:
        answer = ce.get_cost_forecast(
            TimePeriod={"Start": today.isoformat(), "End": end.isoformat()},
            Metric=FORECAST_METRIC,
            Granularity="MONTHLY",
            Filter={"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [account_id]}},
        )
    except ClientError as exc:
        if error_code(exc) == "DataUnavailableException":
            # Too little history for this account (a new account): no forecast for it.
            return None, "no forecast: too little history"
        raise
    return float(answer["Total"]["Amount"]), ""


def read_costs(
    aws: AwsContext, account_ids: list[str], today: date, *, forecast: bool = True
) -> LiveCosts:
    """This month's actual cost of every linked account Cost Explorer knows, and the month's
    forecast for each of ``account_ids``; or why Cost Explorer gave nothing."""
    start, end = month_bounds(today)
    ce = aws.client("ce", CE_REGION)
    try:
        actual, unit = _actuals(ce, start, today)
        forecasts: dict[str, tuple[float | None, str]] = {}
        if forecast:
            ids = sorted(set(account_ids))
            answers = parallel(lambda account_id: _forecast(ce, account_id, today, end), ids)
            forecasts = dict(zip(ids, answers, strict=True))
    except ClientError as exc:
        if error_code(exc) in UNAVAILABLE_CODES:
            message = exc.response.get("Error", {}).get("Message", "") or error_code(exc)
            return unavailable(f"Cost Explorer: {message}", today)
        raise aws_error("reading this month's costs from Cost Explorer", exc, CE_HINT) from exc
    except BotoCoreError as exc:
        raise aws_error("reading this month's costs from Cost Explorer", exc) from exc
    spend = []
    for account_id in sorted(set(actual) | set(forecasts)):
        so_far = actual.get(account_id, 0.0)
        rest, note = forecasts.get(account_id, (None, "" if forecast else "not asked"))
        spend.append(
            AccountSpend(account_id, so_far, None if rest is None else so_far + rest, note)
        )
    return LiveCosts(True, "", unit or "USD", start, today, tuple(spend))
