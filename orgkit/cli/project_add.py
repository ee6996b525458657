"""``orgkit project add NAME``: declare a new project and its accounts in org.yaml."""

from __future__ import annotations

import click

from orgkit import projects
from orgkit.cli.common import EXIT_OK, Context, err, out
from orgkit.config.models import Environment
from orgkit.config.project_edit import DEFAULT_ENVIRONMENTS, ProjectRequest
from orgkit.views.project_view import print_diff, print_project_added

ENVIRONMENT_NAMES = [e.value for e in Environment]


def _environments(
    ctx: click.Context, param: click.Parameter, value: str
) -> tuple[Environment, ...]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [n for n in names if n not in ENVIRONMENT_NAMES]
    if unknown:
        raise click.BadParameter(
            f"unknown environment {unknown[0]!r} (one of {', '.join(ENVIRONMENT_NAMES)})"
        )
    return tuple(Environment(n) for n in names)


def _budgets(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> dict[Environment, float]:
    budgets: dict[Environment, float] = {}
    for item in value:
        env, _, amount = item.partition("=")
        env = env.strip()
        if not amount:
            raise click.BadParameter(f"{item!r}: give ENV=AMOUNT, e.g. prod=800")
        if env not in ENVIRONMENT_NAMES:
            raise click.BadParameter(
                f"{item!r}: {env!r} is not an environment (one of {', '.join(ENVIRONMENT_NAMES)})"
            )
        try:
            number = float(amount)
        except ValueError:
            raise click.BadParameter(f"{item!r}: the amount is not a number") from None
        if not number > 0 or number == float("inf"):
            raise click.BadParameter(f"{item!r}: the amount must be more than 0")
        if Environment(env) in budgets:
            raise click.BadParameter(f"{env} is given twice")
        budgets[Environment(env)] = number
    return budgets


@click.command("add")
@click.argument("name")
@click.option(
    "--environments",
    default=",".join(e.value for e in DEFAULT_ENVIRONMENTS),
    show_default=True,
    callback=_environments,
    help="The project's environments, comma-separated: one account each.",
)
@click.option("--display-name", help="How people name the project (default: NAME capitalized).")
@click.option("--owner", metavar="EMAIL", help="Tag the project's accounts Owner=EMAIL.")
@click.option(
    "--github-repo",
    metavar="OWNER/NAME",
    help="Give the project a deployment role that GitHub Actions of this repository assume "
    "(branch main, GitHub environments named as the project's). Without it: no role.",
)
@click.option(
    "--budget",
    "budgets",
    multiple=True,
    metavar="ENV=AMOUNT",
    callback=_budgets,
    help="The monthly budget of that environment's account instead of the environment's "
    "default (budgets.amounts). Repeatable.",
)
@click.option(
    "--email-pattern",
    metavar="PATTERN",
    help="How the accounts' emails are made, e.g. 'aws+{project}-{env}@example.com' "
    "(default: the pattern the declared project accounts follow).",
)
@click.option("--dry-run", is_flag=True, help="Print the edit as a unified diff; write nothing.")
@click.pass_obj
def add(
    ctx: Context,
    name: str,
    environments: tuple[Environment, ...],
    display_name: str | None,
    owner: str | None,
    github_repo: str | None,
    budgets: dict[Environment, float],
    email_pattern: str | None,
    dry_run: bool,
) -> int:
    """Declare project NAME in org.yaml: its entry, one account per environment (in the OU the
    other projects use for it: prod under /Production, others under /Non-Production), emails
    from the existing pattern, budgets from the environments' defaults, a deployment role with
    --github-repo, and the project in stack sets that target projects generically.

    org.yaml is edited in place, keeping every comment and line outside the added ones; the
    result is validated before it is written. Nothing is done in AWS: run `orgkit plan`, then
    `orgkit apply`. Refused (org.yaml untouched) when the project, an account name or an email
    is already declared.
    """
    request = ProjectRequest(
        name=name,
        display_name=display_name,
        environments=environments,
        owner=owner,
        github_repository=github_repo,
        budgets=budgets,
        email_pattern=email_pattern,
    )
    edit = projects.add_project(ctx.config, request, dry_run=dry_run)
    if dry_run:
        print_diff(out(), edit.diff())
        print_project_added(err(), edit, dry_run=True)
    else:
        print_project_added(out(), edit, dry_run=False)
    return EXIT_OK
