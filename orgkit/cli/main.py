"""The ``orgkit`` command line. Exit codes: 0 ok/no changes, 1 error, 2 changes pending."""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError
from rich.console import Console
from rich.markup import escape

from orgkit import __version__, workflow
from orgkit.config import Config, load_config
from orgkit.config.models import OrgSpec
from orgkit.errors import ConfigError, OrgkitError, SafetyError
from orgkit.live import AwsContext
from orgkit.live.stacksets import detect_drift
from orgkit.plan import Action, Change, Kind, PlanOptions
from orgkit.plan.drift import drift
from orgkit.render.plan_view import plan_json, print_drift, print_plan
from orgkit.render.templates import lint

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


@dataclass
class Context:
    """Global options, shared by every command."""

    config: Path
    profile: str | None
    region: str | None

    def aws(self) -> AwsContext:
        """An AWS context from the standard credential chain."""
        return AwsContext(profile=self.profile, region=self.region)


def out() -> Console:
    """Where views go (stdout)."""
    return Console(highlight=False, soft_wrap=True)  # long addresses stay on one line in logs


def err() -> Console:
    """Where messages and progress go (stderr), so --json stdout stays clean."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


class OrgkitGroup(click.Group):
    """Prints OrgkitError as message + hint and exits 1; usage errors exit 1 as well."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.ClickException as exc:
            exc.show()
            code = EXIT_ERROR
        except click.exceptions.Abort:
            err().print("[red]Aborted.[/]")
            code = EXIT_ERROR
        except ConfigError as exc:
            console = err()
            console.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
            console.print(f"[dim]hint: {exc.hint}[/]", soft_wrap=True)
            code = EXIT_ERROR
        except OrgkitError as exc:
            console = err()
            console.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
            if exc.hint:
                console.print(f"[dim]hint: {escape(exc.hint)}[/]", soft_wrap=True)
            code = EXIT_ERROR
        except (BotoCoreError, ClientError, ResponseParserError) as exc:
            console = err()
            console.print(f"[bold red]error:[/] AWS: {exc}", soft_wrap=True)
            console.print("[dim]hint: check the credentials, the region and AWS_ENDPOINT_URL; "
                          "if this was apply, plan again to see what was done.[/]",
                          soft_wrap=True)
            code = EXIT_ERROR
        except KeyboardInterrupt:
            err().print("[red]Interrupted.[/] Run `orgkit plan` to see where things stand.")
            code = EXIT_ERROR
        except Exception:  # a bug: show everything
            traceback.print_exc()
            err().print("[bold red]This is a bug in orgkit; please report it with the "
                        "traceback above.[/]")
            code = EXIT_ERROR
        sys.exit(code if isinstance(code, int) else EXIT_OK)


@click.group(cls=OrgkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config", default="org.yaml", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), envvar="ORGKIT_CONFIG",
              help="The org.yaml to use.")
@click.option("--profile", default=None, help="AWS profile (default: the standard chain).")
@click.option("--region", default=None, help="AWS region for regional APIs.")
@click.version_option(__version__, prog_name="orgkit")
@click.pass_context
def cli(ctx: click.Context, config: Path, profile: str | None, region: str | None) -> None:
    """Bootstrap and govern an AWS Organization from one declarative org.yaml.

    Start with `orgkit validate`, then `orgkit plan` (read-only) and `orgkit apply`.
    AWS_ENDPOINT_URL points every command at an emulator, e.g. `orgkit sandbox --serve`.
    """
    ctx.obj = Context(config=config, profile=profile, region=region)


destroy_options = [
    click.option("--allow-destroy", is_flag=True,
                 help="Include deleting OUs, policies, stack instances and stack sets, and "
                      "detaching policies."),
    click.option("--allow-close-accounts", is_flag=True,
                 help="Include closing accounts and removing them from the organization."),
]


def with_destroy_options(fn: Any) -> Any:
    """Add the destructive-change flags."""
    for option in reversed(destroy_options):
        fn = option(fn)
    return fn


def lint_templates(config: Config) -> None:
    """cfn-lint every rendered template: errors fail (ConfigError), warnings are shown."""
    issues = []
    console = err()
    for stack_set in config.spec.stack_sets:
        template = config.templates.get(stack_set.name)
        if template is None:
            continue
        for severity, issue in lint(template, list(stack_set.regions)):
            if severity == "error":
                issues.append(issue)
            elif severity == "warning":
                console.print(f"[yellow]warning:[/] {issue}", soft_wrap=True)
    if issues:
        raise ConfigError(issues)


@cli.command()
@click.option("--lint/--no-lint", default=True, show_default=True,
              help="Lint the rendered CloudFormation templates with cfn-lint.")
@click.pass_obj
def validate(ctx: Context, lint: bool) -> None:
    """Check org.yaml, SCPs and templates offline; every problem at once, with file:line."""
    config = load_config(ctx.config)
    if lint:
        lint_templates(config)
    spec = config.spec
    ous = sum(1 for _ in spec.walk_ous())
    out().print(
        f"[green]✓[/] {ctx.config} is valid: {ous} OUs, {len(spec.accounts)} accounts, "
        f"{len(spec.policies)} policies "
        f"(largest SCP {max((p.size for p in config.policies.values()), default=0)} of "
        f"{spec.quotas.scp_max_characters} characters), {len(spec.stack_sets)} stack sets"
        + (" (templates lint clean)." if lint and spec.stack_sets else ".")
    )


@cli.command()
@click.option("--out", "out_dir", default="rendered", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write <stack set>.yaml files into.")
@click.option("--lint/--no-lint", default=True, show_default=True,
              help="Lint the rendered templates with cfn-lint.")
@click.pass_obj
def render(ctx: Context, out_dir: Path, lint: bool) -> None:
    """Write every stack set's rendered CloudFormation template (offline)."""
    config = load_config(ctx.config)
    if lint:
        lint_templates(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    console = out()
    for name, template in sorted(config.templates.items()):
        target = out_dir / f"{name}.yaml"
        target.write_text(template.body, encoding="utf-8")
        console.print(f"[green]✓[/] {target}  ({len(template.body.encode())} bytes, from "
                      f"{template.file})")


@cli.command("plan")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the plan for `orgkit apply --plan FILE`.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when anything differs (held-back destructive changes too), "
                   "0 when nothing does, 1 on error.")
@with_destroy_options
@click.pass_obj
def plan_cmd(ctx: Context, as_json: bool, out_file: Path | None, detailed_exitcode: bool,
             allow_destroy: bool, allow_close_accounts: bool) -> int:
    """Show what apply would change. Read-only."""
    options = PlanOptions(allow_destroy=allow_destroy, allow_close_accounts=allow_close_accounts)
    planned = workflow.make_plan(ctx.config, ctx.aws(), options)
    if out_file is not None:
        out_file.write_text(plan_json(planned.plan) + "\n", encoding="utf-8")
        err().print(f"Plan saved to {out_file}; apply it with `orgkit apply --plan {out_file}`.")
    if as_json:
        click.echo(plan_json(planned.plan))
    else:
        print_plan(out(), planned.plan)
    if detailed_exitcode and not planned.plan.in_sync:
        return EXIT_CHANGES
    return EXIT_OK


class _ConsoleReporter:
    def __init__(self, console: Console) -> None:
        self.console = console

    def change_started(self, change: Change) -> None:
        if change.kind is Kind.ACCOUNT and change.action is Action.CREATE:
            self.console.print(f"  [dim]… {change.action.symbol} {change.address}[/]")

    def change_done(self, change: Change, detail: str) -> None:
        self.console.print(f"  [green]✓[/] {change.action.symbol} {change.address}  "
                           f"[dim]{detail}[/]")

    def progress(self, change: Change, message: str) -> None:
        self.console.print(f"    [dim]{change.address}: {message}[/]")


@cli.command("apply")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Apply a plan saved by `orgkit plan --out`, only if the organization "
                   "has not changed since.")
@with_destroy_options
@click.pass_obj
def apply_cmd(ctx: Context, yes: bool, plan_file: Path | None, allow_destroy: bool,
              allow_close_accounts: bool) -> int:
    """Make the organization match org.yaml: show the plan, ask, apply, re-check."""
    saved = workflow.load_saved_plan(plan_file) if plan_file else None
    options = PlanOptions(allow_destroy=allow_destroy, allow_close_accounts=allow_close_accounts)
    aws = ctx.aws()
    planned = workflow.make_plan(ctx.config, aws, options)
    if saved is not None:
        workflow.check_saved_plan(saved, planned.live, options, planned.config)
    to_show = saved or planned.plan
    console = out()
    print_plan(console, to_show)
    if to_show.empty:
        return EXIT_OK
    workflow.lint_changed_templates(planned.config, to_show)
    if not yes:
        count = len(to_show.changes)
        try:
            confirmed = click.confirm(f"\nApply {count} change{'s' if count != 1 else ''}?",
                                      err=True)
        except click.exceptions.Abort:  # stdin closed: nobody to answer
            confirmed = False
        if not confirmed:
            raise SafetyError("not applied: the plan was not confirmed",
                              hint="Answer y at the prompt, or pass --yes (CI, scripts).")
    console.print()
    result, after = workflow.run_apply(planned, aws, _ConsoleReporter(err()), saved,
                                       lint=False)
    made = len(result.done)
    console.print(f"\n[bold green]Apply complete:[/] {made} change{'s' if made != 1 else ''} "
                  "made.")
    if after.in_sync:
        console.print("[green]✓[/] Re-checked: the organization now matches org.yaml.")
        return EXIT_OK
    if after.empty:
        console.print(f"[yellow]Re-checked: only {len(after.held_back)} held-back destructive "
                      "change(s) remain; run with the flags shown to apply them.[/]")
        return EXIT_OK
    console.print("[bold yellow]Re-checked: changes remain (see below).[/]")
    print_plan(console, after)
    return EXIT_CHANGES


@cli.command("drift")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.option("--detect-stack-drift", is_flag=True,
              help="First run CloudFormation drift detection on every declared stack set "
                   "(changes no resource; takes minutes on large sets).")
@click.pass_obj
def drift_cmd(ctx: Context, as_json: bool, detect_stack_drift: bool) -> int:
    """Audit every account against org.yaml. Read-only; exit 2 when drift is found.

    Reports what is missing, changed or unmanaged, stack instances that are not CURRENT, and
    instances CloudFormation found DRIFTED (run with --detect-stack-drift to refresh that).
    """
    aws = ctx.aws()
    if detect_stack_drift:
        config = load_config(ctx.config)
        aws.require_management_account(config.spec.organization.management_account_id)
        console = err()
        detect_drift(aws, [s.name for s in config.spec.stack_sets if s.state == "present"],
                     config.spec.organization.home_region,
                     progress=lambda message: console.print(f"  [dim]{message}[/]"))
    planned = workflow.make_plan(
        ctx.config, aws, PlanOptions(allow_destroy=True, allow_close_accounts=True))
    report = drift(planned.plan, planned.live)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        print_drift(out(), report)
    return EXIT_OK if report.in_sync else EXIT_CHANGES


@cli.command()
def schema() -> None:
    """Print the JSON schema of org.yaml (for editors and CI)."""
    click.echo(json.dumps(OrgSpec.model_json_schema(), indent=2))


def _register_sandbox() -> None:
    from orgkit.cli.sandbox import sandbox

    cli.add_command(sandbox)


_register_sandbox()


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="orgkit")
