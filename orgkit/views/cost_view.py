"""`orgkit costs`'s view: budgets beside targets per environment, project and account, and the
month's spend where Cost Explorer gave it; says plainly when it gave none."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orgkit.picture import CostGroup, CostLine, CostReport
from orgkit.views.graph_view import money


def _verdict(item: CostGroup | CostLine, currency: str) -> str:
    notes = []
    if item.above_target and item.budget is not None and item.target is not None:
        notes.append(
            f"[yellow]budget above target by {money(item.budget - item.target, currency)}[/]"
        )
    if item.over_budget:
        notes.append("[bold red]spend over budget[/]")
    if isinstance(item, CostLine) and item.note:
        notes.append(f"[dim]{escape(item.note)}[/]")
    return "; ".join(notes)


def _table(title: str, first: str, report: CostReport, extra: list[str]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(first)
    for column in extra:
        table.add_column(column)
    for column in ("Budget", "Target"):
        table.add_column(column, justify="right")
    if report.spend.available:
        table.add_column("Actual so far", justify="right")
        table.add_column("Forecast", justify="right")
    table.add_column("")
    return table


def _amounts(item: CostGroup | CostLine, report: CostReport) -> list[str]:
    cells = [money(item.budget, report.currency), money(item.target, report.currency)]
    if report.spend.available:
        cells += [money(item.actual, report.currency), money(item.forecast, report.currency)]
    return [*cells, _verdict(item, report.currency)]


def _group_table(
    title: str, first: str, groups: tuple[CostGroup, ...], report: CostReport
) -> Table:
    table = _table(title, first, report, ["Accounts"])
    for group in groups:
        table.add_row(escape(group.name), str(group.accounts), *_amounts(group, report))
    return table


def print_costs(console: Console, report: CostReport) -> None:
    """The costs report: where the spend figures come from (or why there are none), then
    budgets and targets per environment, per project and per account, the total, and the
    share of revenue when a revenue was given."""
    spend = report.spend
    if spend.available and spend.month_start and spend.today:
        console.print(
            f"Spend from Cost Explorer: actual for {spend.month_start.isoformat()} up to (not "
            f"including) {spend.today.isoformat()}; forecast for the whole month."
        )
    else:
        console.print(
            f"[bold yellow]No spend data[/]: {escape(spend.reason)}. Showing budgets and targets "
            "only."
        )
    console.print()
    console.print(_group_table("Per environment", "Environment", report.environments, report))
    console.print()
    console.print(_group_table("Per project", "Project", report.projects, report))
    console.print()
    table = _table("Per account", "Account", report, ["Id", "Environment", "Project"])
    for line in report.accounts:
        table.add_row(
            escape(line.name),
            line.account_id or "-",
            escape(line.environment or "-"),
            escape(line.project or "-"),
            *_amounts(line, report),
        )
    console.print(table)
    console.print()
    total = report.total
    summary = (
        f"[bold]Total[/]: {total.accounts} accounts, budgets {money(total.budget, report.currency)}"
    )
    if spend.available:
        summary += (
            f", actual so far {money(total.actual, report.currency)}, forecast "
            f"{money(total.forecast, report.currency)}"
        )
    console.print(summary + ".")
    revenue = report.revenue
    if revenue is not None:
        shares = []
        if revenue.budget_share is not None:
            shares.append(f"budgets {revenue.budget_share:.1f}%")
        if revenue.forecast_share is not None:
            shares.append(f"forecast {revenue.forecast_share:.1f}%")
        limit = (
            f" (org.yaml's maximum: {revenue.max_share:g}%)"
            if revenue.max_share is not None
            else ""
        )
        verdict = "  [bold red]above the maximum[/]" if revenue.over else ""
        console.print(
            f"Share of monthly revenue {money(revenue.monthly_revenue, report.currency)}: "
            f"{', '.join(shares) or '-'}{limit}{verdict}"
        )
