"""Show a Plan as people read it (grouped, coloured, + ~ -) or as the JSON contract."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.text import Text

from orgkit.changes import Action, Change, DriftReport, Plan
from orgkit.kinds import REGISTRY, kind_of
from orgkit.kinds.base import FLAG_OPTIONS

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


def print_drift(console: Console, report: DriftReport) -> None:
    """Print drift findings grouped by issue."""
    if report.in_sync:
        console.print("[bold green]In sync.[/] Every account matches org.yaml.")
        return
    for issue in ("failed", "changed", "missing", "unmanaged"):
        found = [f for f in report.findings if f.issue == issue]
        if not found:
            continue
        heading = f"{issue.capitalize()}: {len(found)}"
        console.print(Text(heading, style=f"bold {ISSUE_STYLE[issue]}"))
        for finding in found:
            where = f"  (account {finding.account_id})" if finding.account_id else ""
            note = f"  ({finding.note})" if finding.note else ""
            console.print(Text(f"  {finding.address}{note}{where}", style=ISSUE_STYLE[issue]))
            if issue == "failed":
                console.print(Text(f"      {_short(finding.actual)}", style="dim"))
    console.print(f"\n[bold]Drift:[/] {len(report.findings)} finding(s).")


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
