"""``orgkit graph`` and ``orgkit costs``: the organization as a picture, and its money."""

from __future__ import annotations

import json

import click

from orgkit import overview
from orgkit.cli.common import EXIT_OK, Context, out
from orgkit.views.cost_view import print_costs
from orgkit.views.graph_view import graph_mermaid, graph_tree


@click.command("graph")
@click.option(
    "--mermaid", "as_mermaid", is_flag=True, help="Print a Mermaid flowchart (for docs and PRs)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.option("--offline", is_flag=True, help="Draw org.yaml alone, without reading AWS.")
@click.pass_obj
def graph(ctx: Context, as_mermaid: bool, as_json: bool, offline: bool) -> int:
    """Draw the organization: OUs, accounts (name, email, id, environment, project, budget)
    and the policies attached to each. Read-only.

    What org.yaml declares is drawn with the live ids filled in; what is not created yet says
    so, and live OUs and accounts org.yaml does not declare are marked unmanaged. The read is
    the organization's structure only (per OU and per policy, never per account).
    """
    if as_mermaid and as_json:
        raise click.UsageError("--mermaid and --json are two formats: choose one.")
    picture = overview.graph(ctx.config, None if offline else ctx.aws())
    if as_json:
        click.echo(json.dumps(picture.to_dict(), indent=2))
    elif as_mermaid:
        click.echo(graph_mermaid(picture), nl=False)
    else:
        out().print(graph_tree(picture))
    return EXIT_OK


@click.command("costs")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.option(
    "--offline", is_flag=True, help="Budgets and targets from org.yaml only, without AWS."
)
@click.option(
    "--no-forecast",
    is_flag=True,
    help="Skip Cost Explorer's forecasts (one paid request per account).",
)
@click.option(
    "--monthly-revenue",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="AMOUNT",
    help="Monthly revenue, to show infrastructure's share of it against budgets.max_revenue_share.",
)
@click.pass_obj
def costs(
    ctx: Context,
    as_json: bool,
    offline: bool,
    no_forecast: bool,
    monthly_revenue: float | None,
) -> int:
    """Budgets per environment, project and account beside org.yaml's cost targets, and this
    month's actual and forecast spend from Cost Explorer. Read-only.

    Cost Explorer is asked from the management account; where it is not enabled or denied,
    this says so and shows budgets only. Each Cost Explorer request is billed by AWS.
    """
    report = overview.costs(
        ctx.config,
        None if offline else ctx.aws(),
        forecast=not no_forecast,
        monthly_revenue=monthly_revenue,
    )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        print_costs(out(), report)
    return EXIT_OK
