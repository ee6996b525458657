"""The services the CLI calls: one function per command, no printing of their own."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from orgkit.apply import ApplyResult, Reporter, apply_plan
from orgkit.config import Config, load_config
from orgkit.errors import OrgkitError, SafetyError
from orgkit.live import AwsContext, LiveOrg, read_org
from orgkit.live.resources import RoleProbe, read_budgets, read_roles
from orgkit.live.stacksets import read_stack_sets
from orgkit.plan import Kind, Plan, PlanOptions, plan
from orgkit.plan.roles import wanted_roles


@dataclass(frozen=True)
class Planned:
    """A plan with what it was made from."""

    config: Config
    live: LiveOrg
    plan: Plan


def read_live(config: Config, aws: AwsContext) -> LiveOrg:
    """Check the caller is org.yaml's management account, then read the organization and
    what orgkit keeps inside its accounts (roles, budgets)."""
    spec = config.spec
    aws.require_management_account(spec.organization.management_account_id)
    tag_emails = [a.email for a in spec.accounts if a.tags]
    live = read_org(aws, tag_emails=tag_emails)
    active = {email: a.id for email, a in live.account_by_email.items() if a.status == "ACTIVE"}
    probes: dict[str, RoleProbe] = {}
    for wanted in wanted_roles(spec, config.execution_permissions, live.management_account_id,
                               live.organization_id, active):
        if wanted.account_id is None:
            continue
        probe = probes.get(wanted.account_id) or RoleProbe(
            wanted.account_id, wanted.access_role, ())
        probes[wanted.account_id] = replace(
            probe,
            role_names=(*probe.role_names, wanted.role.role_name),
            oidc_provider=probe.oidc_provider or wanted.role.oidc_provider,
        )
    roles = read_roles(aws, aws.members(), probes.values())
    budgets = read_budgets(aws, live.management_account_id) if spec.budgets else []
    stack_sets = read_stack_sets(aws, [s.name for s in spec.stack_sets],
                                 spec.organization.home_region)
    return replace(live, roles=tuple(roles), budgets=tuple(budgets),
                   stack_sets=tuple(stack_sets))


def make_plan(config_path: str | Path, aws: AwsContext, options: PlanOptions) -> Planned:
    """Load and validate org.yaml, read the live organization, and plan."""
    config = load_config(config_path)
    live = read_live(config, aws)
    return Planned(config, live, plan(config, live, options))


def load_saved_plan(path: str | Path) -> Plan:
    """Read a plan written by ``orgkit plan --out``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return Plan.from_dict(data)
    except FileNotFoundError:
        raise OrgkitError(f"{path}: no such plan file") from None
    except (json.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
        raise OrgkitError(
            f"{path}: not a plan written by `orgkit plan --out` ({exc})"
        ) from None


def check_saved_plan(
    saved: Plan, live: LiveOrg, options: PlanOptions, config: Config | None = None
) -> None:
    """Refuse a saved plan whose organization or config changed, or whose flags are missing."""
    if saved.management_account_id != live.management_account_id:
        raise SafetyError(
            f"the saved plan is for management account {saved.management_account_id}, "
            f"not {live.management_account_id}"
        )
    if saved.live_fingerprint != live.fingerprint():
        raise SafetyError(
            "the live organization changed since this plan was made; refusing to apply it",
            hint="Run `orgkit plan --out plan.json` again, review it, and apply the new plan.",
        )
    if config is not None and saved.config_fingerprint != config.fingerprint():
        raise SafetyError(
            "org.yaml, an SCP or a template changed since this plan was made (or the plan was "
            "made from another config); refusing to apply it",
            hint="Run `orgkit plan --out plan.json` again with this config, review it, and "
            "apply the new plan.",
        )
    check_flags(saved, options)


def lint_changed_templates(config: Config, the_plan: Plan) -> None:
    """cfn-lint the templates apply is about to send; an error stops apply before any write."""
    from orgkit.errors import ConfigError
    from orgkit.render.templates import lint

    names = {(c.after or {}).get("name") for c in the_plan.changes
             if c.kind is Kind.STACK_SET and c.after}
    issues = []
    for stack_set in config.spec.stack_sets:
        template = config.templates.get(stack_set.name)
        if stack_set.name in names and template is not None:
            issues += [i for severity, i in lint(template, list(stack_set.regions))
                       if severity == "error"]
    if issues:
        raise ConfigError(issues)


def check_flags(the_plan: Plan, options: PlanOptions) -> None:
    """A destructive change needs its flag at apply time too, whatever the plan says."""
    for change in the_plan.changes:
        if not change.destructive:
            continue
        if change.kind is Kind.ACCOUNT and not options.allow_close_accounts:
            raise SafetyError(f"{change.address} would close or remove an account",
                              hint="Pass --allow-close-accounts to apply it.")
        if change.kind is not Kind.ACCOUNT and not options.allow_destroy:
            raise SafetyError(f"{change.address} is destructive",
                              hint="Pass --allow-destroy to apply it.")


def run_apply(
    planned: Planned, aws: AwsContext, reporter: Reporter, saved: Plan | None = None,
    *, lint: bool = True,
) -> tuple[ApplyResult, Plan]:
    """Apply ``saved`` (checked against live) or the fresh plan; then plan again.

    Returns the result and the plan made after applying, which is empty when converged.
    """
    options = PlanOptions(
        allow_destroy=planned.plan.flags.get("allow_destroy", False),
        allow_close_accounts=planned.plan.flags.get("allow_close_accounts", False),
    )
    to_apply = planned.plan
    if saved is not None:
        check_saved_plan(saved, planned.live, options, planned.config)
        to_apply = saved
    check_flags(to_apply, options)
    if lint:
        lint_changed_templates(planned.config, to_apply)
    result = apply_plan(
        to_apply, aws, planned.live, reporter,
        in_flight=planned.config.spec.quotas.create_account_in_flight,
        home_region=planned.config.spec.organization.home_region,
    )
    after = plan(planned.config, read_live(planned.config, aws), options)
    return result, after
