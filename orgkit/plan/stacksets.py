"""Plan stack sets and their instances: pure, like the rest of plan/.

One rendered template per stack set; what differs between environments is instance parameter
overrides (``Environment`` is set to each account's environment when the template declares it).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from orgkit.config.loader import Config
from orgkit.config.models import ROOT_PATH, AccountSpec, OrgSpec, StackSetSpec
from orgkit.live.model import LiveOrg, LiveStackSet
from orgkit.plan.model import Action, Change, Kind, address

ENVIRONMENT_PARAMETER = "Environment"


@dataclass
class StackSetPlan:
    """What the stack set planner found."""

    changes: list[Change] = field(default_factory=list)
    destructive: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def resolve_targets(spec: OrgSpec, stack_set: StackSetSpec) -> list[AccountSpec]:
    """Active accounts matching every filter given (OUs nest), plus those listed by email."""
    targets = stack_set.targets
    filters = targets.ous or targets.projects or targets.environments
    listed = {email.lower() for email in targets.accounts}
    chosen = []
    for account in spec.accounts:
        if account.state != "active":
            continue
        matched = bool(filters)
        if targets.ous and not any(
            path == ROOT_PATH or account.ou == path or account.ou.startswith(path + "/")
            for path in targets.ous
        ):
            matched = False
        if targets.projects and account.project not in targets.projects:
            matched = False
        if targets.environments and account.environment not in targets.environments:
            matched = False
        if matched or account.email.lower() in listed:
            chosen.append(account)
    return chosen


def fill(value: Any, live: LiveOrg) -> str:
    """Parameter values as CloudFormation takes them, with orgkit's placeholders filled in."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return (text.replace("${OrganizationId}", live.organization_id)
            .replace("${ManagementAccountId}", live.management_account_id))


def stack_set_parameters(
    stack_set: StackSetSpec, declared: dict[str, dict[str, Any]], targets: list[AccountSpec],
    live: LiveOrg,
) -> dict[str, str]:
    """Stack-set-level values: AWS lets instances override only parameters set here."""
    values = {k: fill(v, live) for k, v in stack_set.parameters.items()}
    environments = sorted({a.environment.value for a in targets})
    for key in sorted({k for v in stack_set.environment_parameters.values() for k in v}):
        if key not in values:
            default = (declared.get(key) or {}).get("Default")
            if default is not None:
                values[key] = fill(default, live)
            else:
                first = min(stack_set.environment_parameters, key=lambda e: e.value)
                values[key] = fill(stack_set.environment_parameters[first][key], live)
    if ENVIRONMENT_PARAMETER in declared and ENVIRONMENT_PARAMETER not in values:
        values[ENVIRONMENT_PARAMETER] = environments[0] if environments else str(
            (declared[ENVIRONMENT_PARAMETER] or {}).get("Default", "none"))
    return values


def instance_overrides(
    stack_set: StackSetSpec, declared: dict[str, dict[str, Any]], account: AccountSpec,
    live: LiveOrg,
) -> dict[str, str]:
    """An instance's overrides: its environment, then org.yaml's per-environment values."""
    overrides: dict[str, str] = {}
    if ENVIRONMENT_PARAMETER in declared:
        overrides[ENVIRONMENT_PARAMETER] = account.environment.value
    for key, value in stack_set.environment_parameters.get(account.environment, {}).items():
        overrides[key] = fill(value, live)
    return overrides


def operation_preferences(stack_set: StackSetSpec) -> dict[str, Any]:
    """OperationPreferences as the CloudFormation API takes them."""
    prefs = stack_set.operation_preferences
    out: dict[str, Any] = {"RegionConcurrencyType": prefs.region_concurrency}
    if prefs.region_order:
        out["RegionOrder"] = list(prefs.region_order)
    for key, value in (
        ("MaxConcurrentCount", prefs.max_concurrent_count),
        ("MaxConcurrentPercentage", prefs.max_concurrent_percentage),
        ("FailureToleranceCount", prefs.failure_tolerance_count),
        ("FailureTolerancePercentage", prefs.failure_tolerance_percentage),
    ):
        if value is not None:
            out[key] = value
    return out


def plan_stack_sets(config: Config, live: LiveOrg) -> StackSetPlan:
    """Stack set and instance changes, each stack set's changes together."""
    spec = config.spec
    result = StackSetPlan()
    roles = spec.stackset_roles
    for stack_set in spec.stack_sets:
        live_set = live.stack_set_by_name.get(stack_set.name)
        if stack_set.state == "absent":
            if live_set is not None:
                _destroy(stack_set.name, live_set, live, result)
            continue
        assert roles is not None  # validated: stack sets need the role pair
        template = config.templates[stack_set.name]
        targets = resolve_targets(spec, stack_set)
        after = {
            "name": stack_set.name,
            "description": stack_set.description,
            "template_file": template.file,
            "template_body": template.body,
            "parameters": stack_set_parameters(stack_set, template.parameters, targets, live),
            "capabilities": sorted(stack_set.capabilities),
            "administration_role_arn":
                f"arn:aws:iam::{live.management_account_id}:role/{roles.administration_role}",
            "execution_role_name": roles.execution_role,
            "operation_preferences": operation_preferences(stack_set),
        }
        set_address = address(Kind.STACK_SET, stack_set.name)
        if live_set is None:
            result.changes.append(Change(set_address, Kind.STACK_SET, Action.CREATE, None, after))
        else:
            differs = _differences(live_set, after)
            if differs:
                before = {
                    "description": live_set.description,
                    "template_body": live_set.template_body,
                    "parameters": dict(live_set.parameters),
                    "capabilities": list(live_set.capabilities),
                    "administration_role_arn": live_set.administration_role_arn,
                    "execution_role_name": live_set.execution_role_name,
                    "differs": differs,
                }
                result.changes.append(
                    Change(set_address, Kind.STACK_SET, Action.UPDATE, before, after))
        _instances(stack_set, template.parameters, targets, live, live_set, after, result)
    return result


def _differences(live_set: LiveStackSet, after: dict[str, Any]) -> list[str]:
    differs = []
    if live_set.template_body.strip() != after["template_body"].strip():
        differs.append("template")
    if dict(live_set.parameters) != after["parameters"]:
        differs.append("parameters")
    if sorted(live_set.capabilities) != after["capabilities"]:
        differs.append("capabilities")
    if live_set.description != after["description"]:
        differs.append("description")
    if (live_set.administration_role_arn != after["administration_role_arn"]
            or live_set.execution_role_name != after["execution_role_name"]):
        differs.append("roles")
    return differs


def _instances(
    stack_set: StackSetSpec, declared: dict[str, dict[str, Any]], targets: list[AccountSpec],
    live: LiveOrg, live_set: LiveStackSet | None, set_after: dict[str, Any],
    result: StackSetPlan,
) -> None:
    existing = {(i.account_id, i.region): i for i in (live_set.instances if live_set else ())}
    wanted: set[tuple[str, str]] = set()
    for account in targets:
        email = account.email.lower()
        live_account = live.account_by_email.get(email)
        account_id = live_account.id if live_account else None
        overrides = instance_overrides(stack_set, declared, account, live)
        for region in stack_set.regions:
            after = {
                "stack_set": stack_set.name,
                "account_email": email,
                "account_id": account_id,
                "region": region,
                "environment": account.environment.value,
                "overrides": overrides,
                "operation_preferences": set_after["operation_preferences"],
            }
            addr = address(Kind.STACK_INSTANCE, stack_set.name, email, region)
            instance = existing.get((account_id, region)) if account_id else None
            if account_id:
                wanted.add((account_id, region))
            if instance is None:
                result.changes.append(
                    Change(addr, Kind.STACK_INSTANCE, Action.CREATE, None, after))
            elif dict(instance.overrides) != overrides:
                result.changes.append(Change(
                    addr, Kind.STACK_INSTANCE, Action.UPDATE,
                    {"overrides": dict(instance.overrides), "status": instance.status}, after))
            elif instance.status != "CURRENT":
                result.warnings.append(
                    f"{addr} is {instance.status}"
                    + (f": {instance.status_reason}" if instance.status_reason else "")
                    + "; `orgkit drift` shows details")
    for (account_id, region), instance in sorted(existing.items()):
        if (account_id, region) in wanted:
            continue
        owner = live.target_name(account_id)
        result.destructive.append(Change(
            address(Kind.STACK_INSTANCE, stack_set.name, owner, region), Kind.STACK_INSTANCE,
            Action.DELETE,
            {"stack_set": stack_set.name, "account_id": account_id, "account_email": owner,
             "region": region, "status": instance.status},
            None, destructive=True))


def _destroy(name: str, live_set: LiveStackSet, live: LiveOrg, result: StackSetPlan) -> None:
    for instance in live_set.instances:
        owner = live.target_name(instance.account_id)
        result.destructive.append(Change(
            address(Kind.STACK_INSTANCE, name, owner, instance.region), Kind.STACK_INSTANCE,
            Action.DELETE,
            {"stack_set": name, "account_id": instance.account_id, "account_email": owner,
             "region": instance.region, "status": instance.status},
            None, destructive=True))
    result.destructive.append(Change(
        address(Kind.STACK_SET, name), Kind.STACK_SET, Action.DELETE, {"name": name}, None,
        destructive=True))


def template_diff(before: str, after: str) -> list[str]:
    """A unified diff of two template bodies."""
    return list(difflib.unified_diff(before.splitlines(), after.splitlines(), "live",
                                     "rendered", lineterm="", n=2))
