"""Show a Plan as people read it (grouped, coloured, + ~ -) or as the JSON contract."""

from __future__ import annotations

import difflib
import json
from typing import Any

from rich.console import Console
from rich.text import Text

from orgkit.plan.model import Action, Change, Kind, Plan

STYLE = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.DELETE: "red"}
HEADINGS = {
    Kind.POLICY_TYPE: "Policy types",
    Kind.OU: "Organizational units",
    Kind.POLICY: "Service control policies",
    Kind.ACCOUNT: "Accounts",
    Kind.POLICY_ATTACHMENT: "Policy attachments",
}


def plan_json(plan: Plan) -> str:
    """The plan as one JSON document (the CLI contract)."""
    return json.dumps(plan.to_dict(), indent=2, sort_keys=False)


def print_plan(console: Console, plan: Plan) -> None:
    """Print the plan grouped by kind, then held-back changes, unmanaged things, warnings."""
    if plan.empty:
        console.print("[bold green]No changes.[/] The organization matches org.yaml.")
    else:
        for kind in Kind:
            group = [c for c in plan.changes if c.kind is kind]
            if not group:
                continue
            console.print(Text(HEADINGS[kind], style="bold"))
            for change in group:
                _print_change(console, change)
            console.print()
        s = plan.summary()
        console.print(
            f"[bold]Plan:[/] [green]{s['create']} to create[/], "
            f"[yellow]{s['update']} to update[/], [red]{s['delete']} to delete[/]."
        )
    if plan.held_back:
        console.print()
        console.print(
            Text(f"Held back: {len(plan.held_back)} destructive change(s) need a flag", "bold red")
        )
        for change in plan.held_back:
            flag = "--allow-close-accounts" if change.kind is Kind.ACCOUNT else "--allow-destroy"
            console.print(Text(f"  {change.action.symbol} {change.address}  ({flag})", "red"))
    if plan.unmanaged:
        console.print()
        console.print(Text(f"Unmanaged (not in org.yaml, left alone): {len(plan.unmanaged)}",
                           "bold dim"))
        for item in plan.unmanaged:
            console.print(Text(f"  ? {item.address}  {item.detail}", "dim"))
    for warning in plan.warnings:
        console.print(Text(f"warning: {warning}", "bold yellow"))


def _print_change(console: Console, change: Change) -> None:
    style = STYLE[change.action]
    label = "  (destructive)" if change.destructive else ""
    console.print(Text(f"  {change.action.symbol} {change.address}{label}", style=style))
    for line in _details(change):
        console.print(Text(f"      {line}", style="dim" if change.action is Action.CREATE
                           else style))


def _details(change: Change) -> list[str]:
    before, after = change.before or {}, change.after or {}
    if change.kind is Kind.POLICY and change.action is Action.UPDATE:
        lines = []
        if before.get("description") != after.get("description"):
            lines.append(f"description: {before.get('description')!r} -> "
                         f"{after.get('description')!r}")
        lines += _json_diff(before.get("content"), after.get("content"), change.address)
        return lines
    if change.kind is Kind.POLICY and change.action is Action.CREATE:
        return [f"from {after.get('file')}"]
    if change.kind is Kind.ACCOUNT and change.action is Action.CREATE:
        extra = f", resuming request {after['resume_request_id']}" \
            if after.get("resume_request_id") else ""
        return [f"{after['name']} in {after['ou']} ({after['environment']}){extra}"]
    if change.kind is Kind.ACCOUNT and change.action is Action.DELETE:
        verb = "close" if after.get("state") == "closed" else "remove from the organization"
        return [f"{verb}: {before.get('name')} ({before.get('id')})"]
    if change.action is Action.UPDATE:
        keys = [k for k in after if k not in ("id", "email") and before.get(k) != after[k]]
        return [f"{k}: {_short(before.get(k))} -> {_short(after[k])}" for k in keys]
    return []


def _short(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)


def _json_diff(before: Any, after: Any, name: str) -> list[str]:
    a = json.dumps(before, indent=2, sort_keys=True).splitlines()
    b = json.dumps(after, indent=2, sort_keys=True).splitlines()
    return list(difflib.unified_diff(a, b, "live", "org.yaml", lineterm="", n=2))
