"""The ``orgkit`` command line. Exit codes: 0 ok/no changes, 1 error, 2 changes pending.

Commands are thin: parse options, call one workflow function, show one view.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem
from rich.markup import escape

from orgkit import __version__, workflow
from orgkit.changes import Plan
from orgkit.cli.common import (
    EXIT_CHANGES,
    EXIT_OK,
    ConsoleReporter,
    Context,
    OrgkitGroup,
    Spinner,
    check_writable,
    err,
    info,
    out,
    say_connection_retries,
    set_quiet,
)
from orgkit.cli.graph import costs, graph
from orgkit.cli.importing import import_cmd
from orgkit.cli.project import project
from orgkit.cli.sandbox import sandbox
from orgkit.config.models import OrgSpec
from orgkit.config.reference import reference_markdown
from orgkit.kinds import REGISTRY
from orgkit.names import POLICY_TYPES
from orgkit.plan import PlanOptions
from orgkit.plan.drift import DriftScope
from orgkit.target import Target
from orgkit.target import candidates as target_candidates
from orgkit.views.plan_view import plan_json, print_drift, print_plan


@click.group(cls=OrgkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    default="org.yaml",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ORGKIT_CONFIG",
    help="The org.yaml to use.",
)
@click.option("--profile", default=None, help="AWS profile (default: the standard chain).")
@click.option("--region", default=None, help="AWS region for regional APIs.")
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress or notices: results, warnings and errors."
)
@click.version_option(__version__, prog_name="orgkit")
@click.pass_context
def cli(
    ctx: click.Context, config: Path, profile: str | None, region: str | None, quiet: bool
) -> None:
    """Bootstrap and govern an AWS Organization from one declarative org.yaml.

    Start with `orgkit validate`, then `orgkit plan` (read-only) and `orgkit apply`.
    AWS_ENDPOINT_URL points every command at an emulator, e.g. `orgkit sandbox --serve`.
    """
    ctx.obj = Context(config=config, profile=profile, region=region)
    set_quiet(quiet)
    say_connection_retries()


destroy_options = [
    click.option(
        "--allow-destroy",
        is_flag=True,
        help="Include deleting OUs, policies, stack instances and stack sets, and "
        "detaching policies.",
    ),
    click.option(
        "--allow-close-accounts",
        is_flag=True,
        help="Include closing accounts and removing them from the organization.",
    ),
]


def with_destroy_options(fn: Any) -> Any:
    """Add the destructive-change flags."""
    for option in reversed(destroy_options):
        fn = option(fn)
    return fn


def _complete_target(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    config = ctx.params.get("config") or os.environ.get("ORGKIT_CONFIG") or "org.yaml"
    return [
        CompletionItem(name)
        for name in target_candidates(Path(config))
        if name.lower().startswith(incomplete.lower())
    ]


target_option = click.option(
    "--target",
    "targets",
    multiple=True,
    shell_complete=_complete_target,
    metavar="account:NAME|ou:/PATH|project:NAME",
    help="Plan only these accounts (by name, email or id), OUs (sub-OUs included) or projects, "
    "and what governs them; only they are read per account (repeatable).",
)


def _target(values: tuple[str, ...]) -> Target | None:
    return Target.parse(values) if values else None


def _warn(message: str) -> None:
    err().print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)


@cli.command()
@click.option(
    "--lint/--no-lint",
    default=True,
    show_default=True,
    help="Lint the rendered CloudFormation templates with cfn-lint.",
)
@click.pass_obj
def validate(ctx: Context, lint: bool) -> None:
    """Check org.yaml, policies and templates offline; every problem at once, with file:line."""
    with Spinner() as spinner:
        config = workflow.validate(ctx.config, lint=lint, warn=_warn, progress=spinner)
    spec = config.spec
    ous = sum(1 for _ in spec.walk_ous())
    largest = [
        f"{policy_type.label} {size} of {spec.quotas.policy_max_characters(policy_type.name)}"
        for policy_type in POLICY_TYPES
        for size in [
            max((p.size for p in config.policies.values() if p.type == policy_type.name), default=0)
        ]
        if size or policy_type.name == "service_control"
    ]
    out().print(
        f"[green]✓[/] {ctx.config} is valid: {ous} OUs, {len(spec.accounts)} accounts, "
        f"{len(spec.policies)} policies (largest {', '.join(largest)} characters), "
        f"{len(spec.stack_sets)} stack sets"
        + (" (templates lint clean)." if lint and spec.stack_sets else ".")
    )


@cli.command()
@click.option(
    "--out",
    "out_dir",
    default="rendered",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write <stack set>.yaml files into.",
)
@click.option(
    "--lint/--no-lint",
    default=True,
    show_default=True,
    help="Lint the rendered templates with cfn-lint.",
)
@click.pass_obj
def render(ctx: Context, out_dir: Path, lint: bool) -> None:
    """Write every stack set's rendered CloudFormation template (offline)."""
    console = out()
    for target, template in workflow.render(ctx.config, out_dir, lint=lint, warn=_warn):
        console.print(
            f"[green]✓[/] {target}  ({len(template.body.encode())} bytes, from {template.file})"
        )


@cli.command("plan")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan for `orgkit apply --plan FILE`.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when anything differs (held-back destructive changes too), "
    "0 when nothing does, 1 on error.",
)
@with_destroy_options
@target_option
@click.pass_obj
def plan_cmd(
    ctx: Context,
    as_json: bool,
    out_file: Path | None,
    detailed_exitcode: bool,
    allow_destroy: bool,
    allow_close_accounts: bool,
    targets: tuple[str, ...],
) -> int:
    """Show what apply would change. Read-only.

    With --target, only the changes of the targeted accounts, OUs or projects and of what
    governs them (the OUs above them, their guardrails, the policies that apply to them), and
    only their reads inside accounts: a plan of one project in a large organization takes
    seconds, not minutes.
    """
    options = PlanOptions(allow_destroy=allow_destroy, allow_close_accounts=allow_close_accounts)
    target = _target(targets)
    if out_file is not None:
        check_writable(out_file)  # before the plan is computed, not after
    with Spinner() as progress:
        planned = workflow.make_plan(
            ctx.config, ctx.aws(), options, progress, target, read_only=True
        )
    if out_file is not None:
        out_file.write_text(plan_json(planned.plan) + "\n", encoding="utf-8")
        info().print(f"Plan saved to {out_file}; apply it with `orgkit apply --plan {out_file}`.")
    if as_json:
        click.echo(plan_json(planned.plan))
    else:
        print_plan(out(), planned.plan)
    if detailed_exitcode and not planned.plan.in_sync:
        return EXIT_CHANGES
    return EXIT_OK


@cli.command("apply")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Apply a plan saved by `orgkit plan --out`, only if it is exactly what a "
    "fresh plan would do now (the file itself is never executed).",
)
@with_destroy_options
@target_option
@click.pass_obj
def apply_cmd(
    ctx: Context,
    yes: bool,
    plan_file: Path | None,
    allow_destroy: bool,
    allow_close_accounts: bool,
    targets: tuple[str, ...],
) -> int:
    """Make the organization match org.yaml: show the plan, ask, apply, re-check.

    With --plan, the saved plan must be exactly what a fresh plan does now (same organization,
    same config, same changes); only the fresh plan is applied. While it writes, apply holds
    the organization's apply lock (a second apply is refused; see `orgkit unlock`). Ctrl-C
    stops after the calls in flight; a second Ctrl-C stops at once. With --target, only the
    targeted plan (a saved plan keeps the target it was made with).
    """
    options = PlanOptions(allow_destroy=allow_destroy, allow_close_accounts=allow_close_accounts)
    console = out()

    spinner = Spinner()

    def show(the_plan: Plan) -> None:
        spinner.stop()
        print_plan(console, the_plan)

    def confirm(the_plan: Plan) -> bool:
        spinner.stop()
        if yes:
            return True
        count = len(the_plan.changes)
        try:
            return click.confirm(f"\nApply {count} change{'s' if count != 1 else ''}?", err=True)
        except click.exceptions.Abort:  # stdin closed: nobody to answer
            return False

    with spinner:
        _, result, after = workflow.apply(
            ctx.config,
            ctx.aws(),
            options,
            ConsoleReporter(info()),
            saved_path=plan_file,
            show=show,
            confirm=confirm,
            notice=lambda message: err().print(f"[yellow]{escape(message)}[/]"),
            progress=spinner,
            target=_target(targets),
        )
    if result is None or after is None:
        return EXIT_OK
    made = len(result.done)
    console.print(f"\n[bold green]Apply complete:[/] {made} change{'s' if made != 1 else ''} made.")
    if after.in_sync:
        what = "the target" if after.target is not None else "the organization"
        console.print(f"[green]✓[/] Re-checked: {what} now matches org.yaml.")
        return EXIT_OK
    if after.empty:
        console.print(
            f"[yellow]Re-checked: only {len(after.held_back)} held-back destructive "
            "change(s) remain; run with the flags shown to apply them.[/]"
        )
        return EXIT_OK
    console.print("[bold yellow]Re-checked: changes remain (see below).[/]")
    print_plan(console, after)
    return EXIT_CHANGES


@cli.command("drift")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.option(
    "--whole",
    is_flag=True,
    help="With --json: every field of a changed finding's expected and actual, not only the "
    "fields that differ.",
)
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="NAME|EMAIL|ID",
    help="Only findings of this account (repeatable).",
)
@click.option(
    "--ou",
    "ous",
    multiple=True,
    metavar="PATH",
    help="Only findings under this OU, e.g. /Production, its sub-OUs included, and of the "
    "policies that apply there (repeatable; organization-wide things only with --ou /).",
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(sorted(REGISTRY)),
    help="Only findings of this kind (repeatable).",
)
@click.option(
    "--fail-on-unmanaged",
    is_flag=True,
    help="Exit 2 when something live is not in org.yaml, even if everything declared matches.",
)
@click.option(
    "--detect-stack-drift",
    is_flag=True,
    help="First run CloudFormation drift detection on every declared stack set "
    "(changes no resource; takes minutes on large sets).",
)
@click.pass_obj
def drift_cmd(
    ctx: Context,
    as_json: bool,
    whole: bool,
    accounts: tuple[str, ...],
    ous: tuple[str, ...],
    kinds: tuple[str, ...],
    fail_on_unmanaged: bool,
    detect_stack_drift: bool,
) -> int:
    """Audit every account against org.yaml. Read-only; exit 2 when drift is found.

    Reports what is missing, changed or failed, stack instances that are not CURRENT, and
    instances CloudFormation found DRIFTED (run with --detect-stack-drift to refresh that):
    what differs and how to fix it, by organization and by account. What is live but not in
    org.yaml is listed apart and exits 2 only with --fail-on-unmanaged. --json adds a summary
    and, per finding, only the fields that differ (format 3).
    """
    console = info()
    with Spinner() as spinner:
        report = workflow.audit(
            ctx.config,
            ctx.aws(),
            detect_stack_drift=detect_stack_drift,
            scope=DriftScope(accounts=accounts, ous=ous, kinds=kinds),
            progress=lambda message: console.print(f"  [dim]{escape(message)}[/]"),
            reading=spinner,
        )
    if as_json:
        click.echo(json.dumps(report.to_dict(whole=whole), indent=2))
    else:
        if accounts or ous or kinds:
            limits = [f"--{o} {v}" for o, vs in (("account", accounts), ("ou", ous)) for v in vs]
            console.print(f"[dim]Only findings within: {escape(' '.join(limits + list(kinds)))}[/]")
        print_drift(out(), report)
    if not report.in_sync:
        return EXIT_CHANGES
    if fail_on_unmanaged and report.unmanaged:
        err().print(
            f"[yellow]--fail-on-unmanaged: {len(report.unmanaged)} unmanaged thing(s) fail the "
            "check (exit 2).[/]"
        )
        return EXIT_CHANGES
    return EXIT_OK


@cli.command()
@click.option("--yes", "-y", is_flag=True, help="Do not ask before removing the lock.")
@click.pass_obj
def unlock(ctx: Context, yes: bool) -> None:
    """Remove the organization's apply lock, left by an apply that died.

    Apply holds a lock (in DynamoDB, in the management account) so that two applies never run
    at once; it expires by itself 15 minutes after its holder stops renewing it.
    """

    def confirm(held: Any) -> bool:
        err().print(f"The apply lock is held by {escape(held.describe())}.")
        if yes:
            return True
        try:
            return click.confirm("Remove it? Only if that apply is no longer running", err=True)
        except click.exceptions.Abort:
            return False

    removed = workflow.unlock(ctx.config, ctx.aws(), confirm)
    if removed is None:
        out().print("No apply lock is held.")
    else:
        out().print(f"[green]✓[/] Removed the apply lock of {escape(removed.holder)}.")


@cli.command()
@click.option(
    "--markdown",
    is_flag=True,
    help="Print the org.yaml reference as Markdown (docs/org-yaml-reference.md) instead.",
)
def schema(markdown: bool) -> None:
    """Print the JSON schema of org.yaml (for editors and CI)."""
    if markdown:
        click.echo(reference_markdown(), nl=False)
        return
    click.echo(json.dumps(OrgSpec.model_json_schema(), indent=2))


cli.add_command(sandbox)
cli.add_command(project)
cli.add_command(import_cmd)
cli.add_command(graph)
cli.add_command(costs)


def _after_the_command(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A global option given after the command: it wins over the one given before."""
    if value is not None and param.name is not None:
        setattr(ctx.ensure_object(Context), param.name, value)


def _global_options() -> list[click.Option]:
    """--config, --profile, --region and --quiet on every command too, as Terraform and the AWS
    CLI take them: `orgkit plan --config other.yaml`. Shown in each command's --help."""
    return [
        click.Option(
            ["--config"],
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            expose_value=False,
            callback=_after_the_command,
            help="The org.yaml to use (default org.yaml, or ORGKIT_CONFIG).",
        ),
        click.Option(
            ["--profile"],
            default=None,
            expose_value=False,
            callback=_after_the_command,
            help="AWS profile (default: the standard chain).",
        ),
        click.Option(
            ["--region"],
            default=None,
            expose_value=False,
            callback=_after_the_command,
            help="AWS region for regional APIs.",
        ),
        click.Option(
            ["--quiet", "-q"],
            is_flag=True,
            default=False,
            expose_value=False,
            callback=lambda ctx, param, value: set_quiet(True) if value else None,
            help="No progress or notices: results, warnings and errors.",
        ),
    ]


def _add_global_options(group: click.Group) -> None:
    """Every command, and every command of a command group (``orgkit project add``)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _add_global_options(command)
        command.params.extend(_global_options())


_add_global_options(cli)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="orgkit")
