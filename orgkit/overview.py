"""The services behind `orgkit graph` and `orgkit costs`: read only what the picture needs, then
build it (orgkit/picture.py). Read-only: nothing here writes to AWS."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from orgkit.config import Config, load_config
from orgkit.kinds.account import read_accounts
from orgkit.kinds.base import ReadContext
from orgkit.kinds.ou import KIND as OU_KIND
from orgkit.kinds.policy import KIND as POLICY_KIND
from orgkit.live import AwsContext, LiveOrg
from orgkit.live.costs import read_costs
from orgkit.picture import CostReport, OrgGraph, build_costs, build_graph
from orgkit.workflow import read_organization_as_manager

OFFLINE_REASON = "offline: Cost Explorer was not asked"


def read_structure(config: Config, aws: AwsContext, *, policies: bool = True) -> LiveOrg:
    """The organization's structure as the management account sees it: OUs, accounts (no
    tags), and the policies with their targets. Calls per parent and per policy, never per
    account."""
    ctx = ReadContext(aws, config, with_tags=False)
    live = read_organization_as_manager(config, aws)
    live = read_accounts(ctx, OU_KIND.read(ctx, live))
    return POLICY_KIND.read(ctx, live) if policies else live


def graph(config_path: str | Path, aws: AwsContext | None) -> OrgGraph:
    """org.yaml drawn with the live organization's ids and states (``aws`` None: offline)."""
    config = load_config(config_path)
    live = None if aws is None else read_structure(config, aws)
    return build_graph(config.spec, live)


def costs(
    config_path: str | Path,
    aws: AwsContext | None,
    *,
    forecast: bool = True,
    monthly_revenue: float | None = None,
    today: date | None = None,
) -> CostReport:
    """Budgets and targets per environment and project, beside this month's actual and forecast
    spend from Cost Explorer where it answers (``aws`` None: offline, budgets only)."""
    config = load_config(config_path)
    if aws is None:
        return build_costs(
            config.spec, None, None, offline_reason=OFFLINE_REASON, monthly_revenue=monthly_revenue
        )
    live = read_structure(config, aws, policies=False)
    declared = {a.email.lower() for a in config.spec.accounts if a.state == "active"}
    ids = [a.id for a in live.accounts if a.email.lower() in declared]
    spend = read_costs(aws, ids, today or date.today(), forecast=forecast)
    return build_costs(config.spec, live.accounts, spend, monthly_revenue=monthly_revenue)
