"""Show what ``orgkit project add`` did (or would do) and what ``orgkit project list`` found."""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from orgkit.config.project_edit import NewAccount, ProjectEdit
from orgkit.config.project_listing import ProjectListing


def _amount(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}"


def _budget(account: NewAccount) -> str:
    if account.budget is not None:
        return f"{_amount(account.budget)} (own)"
    if account.default_budget is not None:
        return f"{_amount(account.default_budget)} ({account.environment.value} default)"
    return "-"


def print_project_added(console: Console, edit: ProjectEdit, *, dry_run: bool) -> None:
    """What the edit declares: the accounts, the deployment role, the stack sets they join."""
    verb = "Would add" if dry_run else "Added"
    console.print(
        f"[green]✓[/] {verb} project [bold]{escape(edit.project)}[/] "
        f"({escape(edit.display_name)}) to {escape(str(edit.path))}:"
    )
    table = Table(box=None, pad_edge=False, show_header=True, header_style="dim")
    for column in ("account", "email", "ou", "environment", "budget"):
        table.add_column(column)
    for account in edit.accounts:
        table.add_row(
            escape(account.name),
            escape(account.email),
            escape(account.ou),
            account.environment.value,
            _budget(account),
        )
    console.print(table)
    console.print(f"  [dim]emails from the pattern {escape(edit.email_pattern)}[/]")
    if edit.deployment_role is not None and edit.github_repository is not None:
        environments = ", ".join(e.value for e in edit.environments)
        console.print(
            f"  deployment role {escape(edit.deployment_role)} in each account, trusting GitHub "
            f"Actions of {escape(edit.github_repository)} (branch main; GitHub environments "
            f"{environments})"
        )
    else:
        console.print(
            "  no deployment role: pass --github-repo OWNER/NAME to have one (docs/onboarding.md)"
        )
    if edit.stack_sets_joined:
        console.print(
            "  joined the targets.projects of the stack sets: "
            + escape(", ".join(edit.stack_sets_joined))
        )
    reaching = ", ".join(edit.stack_sets_reaching) or "none"
    console.print(f"  stack set instances in its accounts: {escape(reaching)}")
    if dry_run:
        console.print("[yellow]Dry run: org.yaml was not written.[/]")
    else:
        console.print(
            f"Next: `orgkit plan --target project:{escape(edit.project)}` shows the project's "
            f"changes; `orgkit apply --target project:{escape(edit.project)}` makes them."
        )


DIFF_STYLES = (("+++", "bold"), ("---", "bold"), ("+", "green"), ("-", "red"), ("@@", "cyan"))


def print_diff(console: Console, diff: str) -> None:
    """A unified diff, coloured in a terminal."""
    for line in diff.splitlines():
        style = next((style for prefix, style in DIFF_STYLES if line.startswith(prefix)), "")
        console.print(Text(line, style=style))


def projects_json(listing: ProjectListing) -> str:
    """``project list --json``: one document."""
    return json.dumps(listing.to_dict(), indent=2)


def print_projects(console: Console, listing: ProjectListing) -> None:
    """Each project with its accounts: name, email, id, environment, OU, budget."""
    if not listing.projects:
        console.print("No projects are declared in org.yaml (`orgkit project add NAME`).")
        return
    for project in listing.projects:
        title = project.name + (f" ({project.display_name})" if project.display_name else "")
        role = (
            f"deployment role {project.deployment_role}"
            + (f", trusting {project.github_repository}" if project.github_repository else "")
            if project.deployment_role
            else "no deployment role"
        )
        console.print(Text(title, style="bold") + Text(f"  {role}", style="dim"))
        table = Table(box=None, pad_edge=False, show_header=True, header_style="dim")
        for column in ("account", "email", "id", "environment", "ou", "budget"):
            table.add_column(column)
        for account in project.accounts:
            if not listing.live:
                account_id = "(offline)"
            elif account.account_id is None:
                account_id = "not created"
            else:
                account_id = account.account_id
            budget = _amount(account.budget)
            if account.budget_source is not None:
                budget += f" ({account.budget_source})"
            name = account.name + (f" [{account.state}]" if account.state != "active" else "")
            table.add_row(
                escape(name),
                escape(account.email),
                account_id,
                account.environment,
                escape(account.ou),
                budget,
            )
        if not project.accounts:
            table.add_row("(no accounts)", "", "", "", "", "")
        console.print(table)
