"""Show a Plan as people read it (grouped, coloured, + ~ -) or as the JSON contract."""

from __future__ import annotations

import difflib
import json
from typing import Any

from rich.console import Console
from rich.text import Text

from orgkit.plan.drift import DriftReport
from orgkit.plan.model import Action, Change, Kind, Plan
from orgkit.plan.stacksets import template_diff

STYLE = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.DELETE: "red"}
HEADINGS = {
    Kind.POLICY_TYPE: "Policy types",
    Kind.OU: "Organizational units",
    Kind.POLICY: "Service control policies",
    Kind.ACCOUNT: "Accounts",
    Kind.POLICY_ATTACHMENT: "Policy attachments",
    Kind.DEPLOYMENT_ROLE: "Roles in accounts",
    Kind.BUDGET: "Budgets",
    Kind.STACK_SET: "Stack sets",
    Kind.STACK_INSTANCE: "Stack instances",
}


def plan_json(plan: Plan) -> str:
    """The plan as one JSON document (the CLI contract)."""
    return json.dumps(plan.to_dict(), indent=2, sort_keys=False)


def print_plan(console: Console, plan: Plan) -> None:
    """Print the plan grouped by kind, then held-back changes, unmanaged things, warnings."""
    if plan.empty:
        if plan.held_back:
            console.print("[bold yellow]No changes without flags.[/] The organization differs "
                          "from org.yaml only by the destructive changes held back below.")
        else:
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
            console.print(Text(f"  {finding.address}{where}", style=ISSUE_STYLE[issue]))
            if issue == "failed":
                console.print(Text(f"      {_short(finding.actual)}", style="dim"))
    console.print(f"\n[bold]Drift:[/] {len(report.findings)} finding(s).")


def _count(number: int, what: str, style: str) -> str:
    return f"[{style}]{number} {what}[/]" if number else f"{number} {what}"


def _print_change(console: Console, change: Change) -> None:
    style = STYLE[change.action]
    label = "  (destructive)" if change.destructive else ""
    console.print(Text(f"  {change.action.symbol} {change.address}{label}", style=style))
    for line in _details(change):
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
    if change.kind is Kind.DEPLOYMENT_ROLE:
        return _role_details(change, before, after)
    if change.kind is Kind.BUDGET:
        return _budget_details(change, before, after)
    if change.kind is Kind.STACK_SET:
        return _stack_set_details(change, before, after)
    if change.kind is Kind.STACK_INSTANCE:
        return _instance_details(change, before, after)
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


def _role_details(change: Change, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    where = after.get("account_id") or "the new account"
    if change.action is Action.CREATE:
        extras = [f"boundary {after['boundary_name']}"] if after.get("boundary_name") else []
        if after.get("oidc_provider"):
            extras.append(f"OIDC provider {after['oidc_provider']}")
        suffix = f" ({', '.join(extras)})" if extras else ""
        return [f"{after['purpose']} role in {where}{suffix}"]
    lines = []
    for part in before.get("differs", []):
        if part in ("trust", "permissions", "boundary"):
            lines.append(f"{part}:")
            lines += _json_diff(before.get(part), after.get(part), change.address)
        elif part == "oidc_provider":
            lines.append(f"OIDC provider {after['oidc_provider']} is missing")
        elif part == "extra_policies":
            lines += [f"remove {extra} (not orgkit's)" for extra in before["extra_policies"]]
        else:
            lines.append(f"{part}: {before.get(part)} -> {after.get(part)}")
    return lines


def _alerts(budget: dict[str, Any]) -> str:
    def one(n: dict[str, Any]) -> str:
        text = f"{n['type'].lower()} {n['threshold']:g}"
        text += "%" if n.get("threshold_type", "PERCENTAGE") == "PERCENTAGE" else " absolute"
        if n.get("comparison", "GREATER_THAN") != "GREATER_THAN":
            text += f" ({n['comparison'].lower()})"
        return text

    return ", ".join(one(n) for n in budget["notifications"])


def _budget_details(change: Change, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    if change.action is Action.CREATE:
        return [f"{after['amount']:g} {after['currency']} a month; alerts at {_alerts(after)}"]
    lines = []
    if (before["amount"], before["currency"]) != (after["amount"], after["currency"]):
        lines.append(f"amount: {before['amount']:g} {before['currency']} -> "
                     f"{after['amount']:g} {after['currency']}")
    if before["notifications"] != after["notifications"]:
        lines.append(f"alerts: {_alerts(before) or 'none'} -> {_alerts(after)}")
        if [n["subscribers"] for n in before["notifications"]] != [
            n["subscribers"] for n in after["notifications"]
        ]:
            lines.append("subscribers: " + _short(after["notifications"][0]["subscribers"]
                                                   if after["notifications"] else []))
    if before.get("time_unit") != after.get("time_unit"):
        lines.append(f"period: {before.get('time_unit')} -> {after.get('time_unit')}")
    if before.get("linked_accounts") != [after["account_id"]]:
        lines.append(f"filter: {before.get('linked_accounts')} -> [{after['account_id']}]")
    return lines


def _stack_set_details(change: Change, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    if change.action is Action.CREATE:
        params = ", ".join(f"{k}={v}" for k, v in after["parameters"].items())
        return [f"from {after['template_file']}; parameters: {params or 'none'}"]
    if change.action is Action.DELETE:
        return ["delete the stack set (its instances are deleted first)"]
    lines = []
    for part in before.get("differs", []):
        if part == "template":
            lines.append("template:")
            lines += template_diff(before["template_body"], after["template_body"])
        elif part == "parameters":
            keys = sorted(set(before["parameters"]) | set(after["parameters"]))
            lines += [f"parameter {k}: {before['parameters'].get(k)!r} -> "
                      f"{after['parameters'].get(k)!r}"
                      for k in keys if before["parameters"].get(k) != after["parameters"].get(k)]
        else:
            lines.append(f"{part}: {_short(before.get(part.rstrip('s')) or before.get(part))}"
                         f" -> {_short(after.get(part.rstrip('s')) or after.get(part))}")
    return lines


def _instance_details(change: Change, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    if change.action is Action.DELETE:
        return [f"delete the stack in {before['account_id']} {before['region']}"]
    overrides = ", ".join(f"{k}={v}" for k, v in after["overrides"].items())
    if change.action is Action.UPDATE:
        return [f"overrides: {_short(before['overrides'])} -> {_short(after['overrides'])}"]
    return [f"overrides: {overrides or 'none'}"]
