"""``orgkit project list``: the declared projects, their accounts and budgets."""

from __future__ import annotations

import click

from orgkit import projects
from orgkit.cli.common import EXIT_OK, Context, out
from orgkit.views.project_view import print_projects, projects_json


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.option("--offline", is_flag=True, help="Read org.yaml only (no account ids, no AWS call).")
@click.pass_obj
def list_cmd(ctx: Context, as_json: bool, offline: bool) -> int:
    """Show each project of org.yaml with its accounts: name, email, id (or "not created"),
    environment, OU and monthly budget (the account's own or its environment's default).

    Reads the organization's structure (OUs and accounts) for the ids; read-only.
    """
    listing = projects.list_projects(ctx.config, None if offline else ctx.aws())
    if as_json:
        click.echo(projects_json(listing))
    else:
        print_projects(out(), listing)
    return EXIT_OK
