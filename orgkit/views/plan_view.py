"""Show a Plan as people read it (grouped, coloured, + ~ -) or as the JSON contract."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from orgkit.changes import Action, Change, DriftReport, Finding, Plan
from orgkit.kinds import REGISTRY, kind_of
from orgkit.kinds.base import FLAG_OPTIONS
from orgkit.target import Target

STYLE = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.DELETE: "red"}


def plan_json(plan: Plan) -> str:
    """The plan as one JSON document (the CLI contract)."""
    return json.dumps(plan.to_dict(), indent=2, sort_keys=False)


def print_plan(console: Console, plan: Plan) -> None:
    """Print the plan grouped by kind, then held-back changes, unmanaged things, warnings."""
    if plan.empty:
        if plan.held_back:
            console.print(
                "[bold yellow]No changes without flags.[/] The organization differs "
                "from org.yaml only by the destructive changes held back below."
            )
        elif plan.target is not None:
            console.print(
                f"[bold green]No changes[/] within the target "
                f"({escape(str(Target.from_dict(plan.target)))}): what it holds matches "
                "org.yaml (organization-wide things were not compared)."
            )
        else:
            console.print("[bold green]No changes.[/] The organization matches org.yaml.")
    else:
        for kind in REGISTRY.values():
            group = [c for c in plan.changes if c.kind == kind.kind]
            if not group:
                continue
            console.print(Text(kind.heading, style="bold"))
            for change in group:
                _print_change(console, change)
            console.print()
        s = plan.summary()
        console.print(
            f"[bold]Plan:[/] {_count(s['create'], 'to create', 'green')}, "
            f"{_count(s['update'], 'to update', 'yellow')}, "
            f"{_count(s['delete'], 'to delete', 'red')}."
        )
    if plan.held_back:
        console.print()
        console.print(
            Text(f"Held back: {len(plan.held_back)} destructive change(s) need a flag", "bold red")
        )
        for change in plan.held_back:
            kind = kind_of(change.kind)
            flag = FLAG_OPTIONS[kind.destroy_flag]
            note = f"  ({kind.note(change)})" if kind.note(change) else ""
            console.print(Text(f"  {change.action.symbol} {change.address}{note}  ({flag})", "red"))
            if change.action is Action.UPDATE:  # say what the update would destroy
                for line in kind.describe(change):
                    if line.startswith("data loss:"):
                        console.print(Text(f"      {line}", "red"))
    if plan.unmanaged:
        console.print()
        console.print(
            Text(f"Unmanaged (not in org.yaml, left alone): {len(plan.unmanaged)}", "bold dim")
        )
        for item in plan.unmanaged:
            console.print(Text(f"  ? {item.address}  {item.detail}", "dim"))
    for warning in plan.warnings:
        console.print(Text(f"warning: {warning}", "bold yellow"))


ISSUE_STYLE = {"missing": "green", "changed": "yellow", "unmanaged": "dim", "failed": "red"}
ISSUE_SYMBOL = {"missing": "+", "changed": "~", "unmanaged": "?", "failed": "!"}
FIX = {
    "missing": "fix: `orgkit apply` creates it; or take it out of org.yaml",
    "changed": "fix: `orgkit apply` puts org.yaml's value back; or write the live value into "
    "org.yaml to keep it",
    "failed": "fix: see why above, then `orgkit apply` (it retries what is missing)",
}


def print_drift(console: Console, report: DriftReport) -> None:
    """Print drift as a report: what differs and how to fix it, grouped by where it is (the
    organization, then each account), unmanaged things apart."""
    groups: dict[str | None, list[Finding]] = {}
    for finding in report.managed:
        groups.setdefault(finding.account_id, []).append(finding)
    for account_id in sorted(groups, key=lambda a: (a is not None, _account(report, a))):
        console.print(Text(_account(report, account_id), style="bold"))
        for finding in groups[account_id]:
            style = ISSUE_STYLE[finding.issue]
            note = f"  ({finding.note})" if finding.note else ""
            symbol = ISSUE_SYMBOL[finding.issue]
            console.print(Text(f"  {symbol} {finding.address}{note}", style=style))
            lines = list(finding.detail)
            if finding.issue == "failed":
                lines.append(_short(finding.actual))
            elif finding.issue == "changed" and not lines and finding.differs:
                lines.append("differs: " + ", ".join(finding.differs))
            for line in lines:
                console.print(Text(f"      {line}", style=_detail_style(line)))
            console.print(Text(f"      {FIX[finding.issue]}", style="dim"))
        console.print()
    unmanaged = report.unmanaged
    if unmanaged:
        console.print(
            Text(f"Unmanaged (not in org.yaml, left alone): {len(unmanaged)}", style="bold dim")
        )
        for finding in unmanaged:
            where = f"  ({_account(report, finding.account_id)})" if finding.account_id else ""
            console.print(Text(f"  ? {finding.address}  {finding.actual}{where}", style="dim"))
        console.print()
    if report.in_sync:
        aside = f" ({len(unmanaged)} unmanaged, listed above)" if unmanaged else ""
        console.print(f"[bold green]In sync.[/] Everything org.yaml declares matches{aside}.")
        return
    counts = ", ".join(f"{n} {issue}" for issue, n in report.summary().items() if n)
    console.print(f"[bold]Drift:[/] {len(report.findings)} finding(s): {counts}.")


def _account(report: DriftReport, account_id: str | None) -> str:
    if account_id is None:
        return "Organization"
    name = report.account_names.get(account_id)
    return f"Account {name} ({account_id})" if name else f"Account {account_id}"


def _detail_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("+"):
        return "green"
    if line.startswith("-"):
        return "red"
    return "yellow"


def _count(number: int, what: str, style: str) -> str:
    return f"[{style}]{number} {what}[/]" if number else f"{number} {what}"


def _print_change(console: Console, change: Change) -> None:
    style = STYLE[change.action]
    kind = kind_of(change.kind)
    note = f"  ({kind.note(change)})" if kind.note(change) else ""
    label = "  (destructive)" if change.destructive else ""
    console.print(Text(f"  {change.action.symbol} {change.address}{note}{label}", style=style))
    for line in kind.describe(change):
        console.print(Text(f"      {line}", style=_line_style(change, line)))


def _line_style(change: Change, line: str) -> str:
    """Diff lines in red and green, the rest like their change."""
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("+"):
        return "green"
    if line.startswith("-"):
        return "red"
    return "dim" if change.action is Action.CREATE else STYLE[change.action]


def _short(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)
