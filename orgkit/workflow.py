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
    stack_sets = read_stack_sets(aws, [s.name for s in spec.stack_sets])
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


def check_saved_plan(saved: Plan, live: LiveOrg, options: PlanOptions) -> None:
    """Refuse a saved plan whose organization has changed or whose flags are missing."""
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
    check_flags(saved, options)


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
    planned: Planned, aws: AwsContext, reporter: Reporter, saved: Plan | None = None
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
        check_saved_plan(saved, planned.live, options)
        to_apply = saved
    check_flags(to_apply, options)
    result = apply_plan(
        to_apply, aws, planned.live, reporter,
        in_flight=planned.config.spec.quotas.create_account_in_flight,
    )
    after = plan(planned.config, read_live(planned.config, aws), options)
    return result, after
