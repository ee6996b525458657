"""``orgkit sandbox``: the whole job, validate → plan → apply → plan, on an embedded emulator."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.rule import Rule
from rich.table import Table

from orgkit import workflow
from orgkit.cli.common import EXIT_CHANGES, EXIT_OK, ConsoleReporter, Context, err, out
from orgkit.config import Config
from orgkit.live import AwsContext, LiveOrg
from orgkit.plan import PlanOptions
from orgkit.sandbox.server import (
    SANDBOX_MANAGEMENT_ACCOUNT_ID,
    Sandbox,
    running_sandbox,
    sandbox_environment,
)
from orgkit.views.org_view import org_tree
from orgkit.views.plan_view import print_plan


def _orgkit_command() -> str:
    """How to run this orgkit from another shell (the venv need not be active there)."""
    import shutil
    import sys

    here = Path(sys.argv[0])
    if here.name == "orgkit" and here.exists():
        return str(here.resolve())
    return shutil.which("orgkit") or "orgkit"


def _inventory(box: Sandbox, live: LiveOrg, config: Config) -> Table:
    """Per account, what the apply put inside it, read with the account's own credentials."""
    table = Table(
        title="Inside the accounts (read with each account's own credentials)", title_justify="left"
    )
    for column in ("Account", "Env", "Stack sets", "Tables", "Buckets", "Roles"):
        table.add_column(column)
    environments = {a.email.lower(): a.environment.value for a in config.spec.accounts}
    for account in sorted(live.accounts, key=lambda a: a.name):
        if account.id == live.management_account_id:
            continue
        found = box.inventory(account.id)
        managed_roles = [r for r in found["roles"] if r != config.spec.organization.access_role]
        table.add_row(
            account.name,
            environments.get(account.email.lower(), "?"),
            ", ".join(sorted(s.removeprefix("StackSet:") for s in found["stacks"])) or "-",
            str(len(found["tables"])),
            str(len(found["buckets"])),
            str(len(managed_roles)),
        )
    return table


def _organization_inventory(box: Sandbox, live: LiveOrg, config: Config) -> Table:
    """Organization-wide: the trail, trusted services, delegated administrators, security
    services per region, policies per type; read with raw boto3, not through orgkit."""
    found = box.organization_inventory(config.spec.allowed_regions)
    names = {a.id: a.name for a in live.accounts}
    table = Table(title="Organization-wide (read with raw boto3)", title_justify="left")
    table.add_column("What")
    table.add_column("State")
    for trail in found["trails"]:
        flags = [
            "organization" if trail.get("IsOrganizationTrail") else "single account",
            "multi-region" if trail.get("IsMultiRegionTrail") else "one region",
            "log-file validation" if trail.get("LogFileValidationEnabled") else "no validation",
            "logging" if trail.get("IsLogging") else "NOT logging",
        ]
        table.add_row(f"trail {trail['Name']}", f"s3://{trail['S3BucketName']}; {', '.join(flags)}")
    table.add_row(
        "trusted services",
        ", ".join(s.removesuffix(".amazonaws.com") for s in found["trusted"]) or "-",
    )
    for principal, account in sorted(found["delegated"].items()):
        table.add_row(f"delegated {principal.removesuffix('.amazonaws.com')}", account)
    for what, ids in found["admins"].items():
        table.add_row(f"administrator {what}", ", ".join(names.get(i, i) for i in ids) or "-")
    for kind, policies in found["policies"].items():
        listed = "; ".join(
            f"{name} -> {', '.join(t) or '(not attached)'}" for name, t in policies.items()
        )
        table.add_row(kind.lower().replace("_", " "), listed or "-")
    return table


@click.command()
@click.option(
    "--serve",
    is_flag=True,
    help="Keep the sandbox running after the run, for other orgkit commands.",
)
@click.option(
    "--port",
    default=0,
    type=click.IntRange(0, 65535),
    help="Port on 127.0.0.1. Default: any free port, or 5000 with --serve.",
)
@click.option(
    "--empty",
    is_flag=True,
    help="Only create an empty organization; skip the apply run (implies --serve).",
)
@click.pass_obj
def sandbox(ctx: Context, serve: bool, port: int, empty: bool) -> int:
    """Run orgkit against an embedded AWS emulator (moto) on 127.0.0.1.

    Creates an organization whose management account is 123456789012, then validates
    org.yaml, plans, applies and plans again, which must show no changes. Nothing leaves
    this machine. Needs the `sandbox` extra: pip install 'orgkit[sandbox]'.
    """
    console = out()
    serve = serve or empty
    if serve and port == 0:
        port = 5000
    config = None if empty else workflow.validate(ctx.config, lint=False)
    with running_sandbox(port) as box, sandbox_environment(box):
        box.create_organization()
        console.print(
            f"[bold]Sandbox[/] moto server at {box.endpoint}; organization created "
            f"with management account {SANDBOX_MANAGEMENT_ACCOUNT_ID}."
        )
        if config is not None:
            aws = AwsContext(region="us-east-1")
            console.print(Rule("1/4  orgkit validate"))
            spec = config.spec
            console.print(
                f"[green]✓[/] {ctx.config}: {sum(1 for _ in spec.walk_ous())} OUs, "
                f"{len(spec.accounts)} accounts, {len(spec.policies)} policies."
            )
            console.print(Rule("2/4  orgkit plan"))
            started = time.monotonic()
            planned = workflow.make_plan(ctx.config, aws, PlanOptions())
            print_plan(console, planned.plan)
            console.print(Rule("3/4  orgkit apply --yes"))
            result, after = workflow.run_apply(planned, aws, ConsoleReporter(err()), PlanOptions())
            console.print(
                f"[green]✓[/] {len(result.done)} changes applied in "
                f"{time.monotonic() - started:.1f}s."
            )
            console.print(Rule("4/4  orgkit plan (again)"))
            print_plan(console, after)
            live = workflow.read_live(config, aws)
            console.print()
            console.print(org_tree(live, config.spec.organization.name))
            console.print()
            console.print(_inventory(box, live, config))
            console.print()
            console.print(_organization_inventory(box, live, config))
            if not after.empty:
                return EXIT_CHANGES
        if serve:
            console.print()
            console.print("Sandbox serving. In another shell:")
            for key, value in box.env.items():
                console.print(f"  export {key}={value}")
            console.print(
                f"  {_orgkit_command()} --config {ctx.config.resolve()} plan\n"
                "[dim]Ctrl-C stops it.[/]"
            )
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                console.print("Sandbox stopped.")
    return EXIT_OK
