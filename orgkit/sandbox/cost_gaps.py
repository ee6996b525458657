"""Cost Explorer in the sandbox: no spend data, said the way AWS says it.

moto does not track cost or usage: its GetCostAndUsage answers an empty result (or results
queued through its own test API) and GetCostForecast is not implemented (HTTP 500 over the
server, which botocore retries). An empty answer would read as "nothing was spent", which is
not true of anything. The sandbox instead answers both calls as AWS does for an account where
Cost Explorer has not been enabled: ``AccessDeniedException`` "User not enabled for cost
explorer access". orgkit then says there is no spend data and shows budgets only, through the
same code path as a real organization without Cost Explorer. Production code is unchanged.
"""

from __future__ import annotations

from typing import Any

from orgkit.sandbox.extensions import _require

GAP = "cost explorer"
NOT_ENABLED = "User not enabled for cost explorer access"


def _not_enabled() -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("AccessDeniedException", NOT_ENABLED)


def fill_cost_explorer() -> None:
    """Answer GetCostAndUsage and GetCostForecast as an account without Cost Explorer."""
    from moto.ce.responses import CostExplorerResponse

    _require(CostExplorerResponse, "get_cost_and_usage", GAP)  # the call being replaced

    def refuse(self: Any) -> str:
        raise _not_enabled()

    CostExplorerResponse.get_cost_and_usage = refuse  # type: ignore[method-assign]
    CostExplorerResponse.get_cost_forecast = refuse  # type: ignore[attr-defined]
