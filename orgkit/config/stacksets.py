"""What a declared stack set wants: its target accounts, parameters, per-environment
instance overrides and operation preferences. Pure functions of org.yaml (and of the
organization's ids, for the placeholders).

One rendered template per stack set; what differs between environments is instance parameter
overrides (``Environment`` is set to each account's environment when the template declares it).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from orgkit.config.models import AccountSpec, OrgSpec, StackSetSpec
from orgkit.names import ROOT_PATH

ENVIRONMENT_PARAMETER = "Environment"
# Set on every stack set whose template declares it, from org.yaml's one `alerts.email`.
ALERT_EMAIL_PARAMETER = "AlertEmail"


@dataclass(frozen=True)
class OrgIds:
    """The organization's ids that parameter placeholders name."""

    organization_id: str
    management_account_id: str


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


def fill(value: Any, ids: OrgIds) -> str:
    """Parameter values as CloudFormation takes them, with orgkit's placeholders filled in."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return text.replace("${OrganizationId}", ids.organization_id).replace(
        "${ManagementAccountId}", ids.management_account_id
    )


def stack_set_parameters(
    stack_set: StackSetSpec,
    declared: dict[str, dict[str, Any]],
    targets: list[AccountSpec],
    ids: OrgIds,
    alert_email: str | None = None,
) -> dict[str, str]:
    """Stack-set-level values: AWS lets instances override only parameters set here."""
    values = {k: fill(v, ids) for k, v in stack_set.parameters.items()}
    if ALERT_EMAIL_PARAMETER in declared and ALERT_EMAIL_PARAMETER not in values and alert_email:
        values[ALERT_EMAIL_PARAMETER] = alert_email
    environments = sorted({a.environment.value for a in targets})
    for key in sorted({k for v in stack_set.environment_parameters.values() for k in v}):
        if key not in values:
            default = (declared.get(key) or {}).get("Default")
            if default is not None:
                values[key] = fill(default, ids)
            else:
                first = min(stack_set.environment_parameters, key=lambda e: e.value)
                values[key] = fill(stack_set.environment_parameters[first][key], ids)
    if ENVIRONMENT_PARAMETER in declared and ENVIRONMENT_PARAMETER not in values:
        values[ENVIRONMENT_PARAMETER] = (
            environments[0]
            if environments
            else str((declared[ENVIRONMENT_PARAMETER] or {}).get("Default", "none"))
        )
    return values


def instance_overrides(
    stack_set: StackSetSpec,
    declared: dict[str, dict[str, Any]],
    account: AccountSpec,
    ids: OrgIds,
) -> dict[str, str]:
    """An instance's overrides: its environment, then org.yaml's per-environment values."""
    overrides: dict[str, str] = {}
    if ENVIRONMENT_PARAMETER in declared:
        overrides[ENVIRONMENT_PARAMETER] = account.environment.value
    for key, value in stack_set.environment_parameters.get(account.environment, {}).items():
        overrides[key] = fill(value, ids)
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


def template_diff(before: str, after: str) -> list[str]:
    """A unified diff of two template bodies."""
    return list(
        difflib.unified_diff(
            before.splitlines(), after.splitlines(), "live", "rendered", lineterm="", n=2
        )
    )
