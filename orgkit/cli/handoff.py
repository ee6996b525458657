"""``orgkit project samconfig | workflow | check``: a project's hand-off to ``sam deploy``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape

from orgkit import handoff
from orgkit.cli.common import EXIT_CHANGES, EXIT_OK, Context, check_writable, err, out
from orgkit.config.models import Environment
from orgkit.views.handoff_view import print_check

ENVIRONMENTS = click.Choice([e.value for e in Environment])


@click.command("samconfig")
@click.argument("name")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The samconfig.toml to write (its other settings are kept). Default: print it.",
)
@click.option("--env", "env", type=ENVIRONMENTS, help="Only this environment.")
@click.option("--dry-run", is_flag=True, help="Print what --out would hold; write nothing.")
@click.pass_obj
def samconfig_cmd(
    ctx: Context, name: str, out_file: Path | None, env: str | None, dry_run: bool
) -> None:
    """Write the project's samconfig.toml from the live organization.

    One [<env>.deploy.parameters] per environment: region, artifacts bucket (s3_bucket) and
    parameter_overrides from the platform stack set's outputs in that account. stack_name,
    s3_prefix and capabilities get defaults only where the file has none. The deployment role
    each environment's job assumes is printed (on stderr) and goes in the workflow
    (`orgkit project workflow`), which is what reads it. Read-only in AWS.
    """
    if out_file is not None and not dry_run:
        check_writable(out_file)
    project_live = handoff.read_project(ctx.config, ctx.aws(), name, env)
    made = handoff.samconfig(project_live, out_file)
    if out_file is None or dry_run:
        click.echo(made.text, nl=False)
    else:
        out_file.write_text(made.text, encoding="utf-8")
        kept = " (its other settings kept)" if made.kept_existing else ""
        out().print(f"[green]✓[/] wrote {escape(str(out_file))}{kept}")
    for environment, arn in made.roles.items():
        err().print(f"  {escape(environment)}: deployment role {escape(arn)}")


@click.command("workflow")
@click.argument("name")
@click.option("--env", "env", type=ENVIRONMENTS, help="Only this environment's job.")
@click.pass_obj
def workflow_cmd(ctx: Context, name: str, env: str | None) -> None:
    """Print a GitHub Actions deploy workflow for the project's repository.

    One job per environment (dev, then staging, then prod), each assuming that account's
    deployment role with GitHub's OIDC token and running `sam deploy --config-env <env>`.
    Read-only in AWS.
    """
    project_live = handoff.read_project(ctx.config, ctx.aws(), name, env)
    click.echo(handoff.workflow(project_live), nl=False)


@click.command("check")
@click.argument("name")
@click.option("--env", "env", type=ENVIRONMENTS, help="Only this environment.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.pass_obj
def check_cmd(ctx: Context, name: str, env: str | None, as_json: bool) -> int:
    """The seed's pre-production checklist against the project's live accounts.

    Each item passes, fails or cannot be checked, with the evidence. Secrets are judged by
    their versions; no value is ever read. Exit 2 when an item fails, 0 when every item
    passes or cannot be checked. Read-only.
    """
    report = handoff.check(ctx.config, ctx.aws(), name, env)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        print_check(out(), report)
    return EXIT_CHANGES if report.failed else EXIT_OK
