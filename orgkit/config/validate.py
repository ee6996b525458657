"""Semantic checks that the schema alone cannot express: uniqueness, references, AWS limits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from orgkit.config.models import OrgSpec, ou_depth
from orgkit.config.policies import PolicyDocument
from orgkit.config.source import Loc, format_loc
from orgkit.config.stacksets import ALERT_EMAIL_PARAMETER, resolve_targets
from orgkit.errors import ConfigIssue, did_you_mean
from orgkit.names import POLICY_TYPE_BY_NAME, POLICY_TYPES, ROOT_PATH

Report = Callable[[Loc, str], None]
# Names the jinja2 contexts define themselves; a var of the same name would hide them.
RESERVED_VARS = {"vars", "organization", "project", "stack_set", "stackset_roles", "security"}


def check_semantics(spec: OrgSpec, policies: dict[str, PolicyDocument], report: Report) -> None:
    """Report every semantic problem of ``spec`` through ``report(location, message)``."""
    quotas = spec.quotas
    declared_policies = _check_policies(spec, policies, report)
    check_role_documents(spec, report)
    check_read_role(spec, report)
    check_regions(spec, report)
    present_policies = {p.name for p in spec.policies if p.state == "present"}

    ou_state: dict[str, str] = {}
    loc: Loc
    for path, ou, loc in spec.walk_ous():
        if path in ou_state:
            report((*loc, "name"), f"duplicate OU {path!r} (sibling OU names must be unique)")
        ou_state[path] = ou.state
        if len(ou.name) > quotas.ou_name_max_length:
            report((*loc, "name"), f"OU name longer than {quotas.ou_name_max_length} characters")
        depth = ou_depth(path)
        if depth > quotas.ou_max_depth:
            report(
                (*loc, "name"),
                f"OU {path!r} is {depth} levels deep; AWS allows {quotas.ou_max_depth}",
            )
        if ou.state == "absent" and any(c.state == "present" for c in ou.children):
            report((*loc, "state"), f"OU {path!r} is absent but has present child OUs")
        if ou.renamed_from is not None and ou.renamed_from == ou.name:
            report((*loc, "renamed_from"), "renamed_from equals the OU's name")

    emails: Counter[str] = Counter(a.email.lower() for a in spec.accounts)
    names: Counter[str] = Counter(a.name for a in spec.accounts)
    for index, account in enumerate(spec.accounts):
        loc = ("accounts", index)
        if emails[account.email.lower()] > 1:
            report((*loc, "email"), f"duplicate account email {account.email!r}")
        if names[account.name] > 1:
            report((*loc, "name"), f"duplicate account name {account.name!r}")
        if len(account.name) > quotas.account_name_max_length:
            report(
                (*loc, "name"),
                f"account name longer than {quotas.account_name_max_length} characters",
            )
        if len(account.email) > quotas.account_email_max_length:
            report(
                (*loc, "email"),
                f"account email longer than {quotas.account_email_max_length} characters",
            )
        if account.ou != ROOT_PATH and account.ou not in ou_state:
            report((*loc, "ou"), f"unknown OU {account.ou!r}{did_you_mean(account.ou, ou_state)}")
        elif account.state == "active" and ou_state.get(account.ou) == "absent":
            report((*loc, "ou"), f"OU {account.ou!r} is absent but holds this account")
        elif account.state == "closed" and ou_state.get(account.ou) == "absent":
            report(
                (*loc, "ou"),
                f"OU {account.ou!r} is absent but holds this closed account; "
                "AWS keeps a closed account in its OU for 90 days, so move it elsewhere",
            )
        if account.project is not None and spec.project(account.project) is None:
            report(
                (*loc, "project"),
                f"unknown project {account.project!r}"
                f"{did_you_mean(account.project, [p.name for p in spec.projects])}",
            )
        if (
            spec.budgets is not None
            and account.state == "active"
            and account.budget is None
            and account.environment not in spec.budgets.amounts
        ):
            report(
                (*loc, "environment"),
                f"no budget amount for environment {account.environment.value!r}: set "
                f"budgets.amounts.{account.environment.value} or this account's budget",
            )

    _check_projects(spec, report)
    for key in spec.vars:
        if key in RESERVED_VARS:
            report(("vars", key), f"{key!r} is a name templates already use; rename the var")
    budgets = spec.budgets
    if budgets and budgets.notifications and not (budgets.emails or budgets.sns_topic_arn):
        report(
            ("budgets", "notifications"),
            "budget notifications need a subscriber: set budgets.emails or sns_topic_arn",
        )

    # Attachments: references resolve, no repeats, and the per-target quota holds.
    targets: list[tuple[Loc, list[str], bool]] = [
        (("organization", "policies"), spec.organization.policies, True)
    ]
    targets += [
        ((*loc, "policies"), ou.policies, ou.state == "present") for _, ou, loc in spec.walk_ous()
    ]
    targets += [
        (("accounts", i, "policies"), a.policies, a.state == "active")
        for i, a in enumerate(spec.accounts)
    ]
    for loc, names_list, live in targets:
        for index, name in enumerate(names_list):
            if name not in declared_policies:
                report(
                    (*loc, index), f"unknown policy {name!r}{did_you_mean(name, declared_policies)}"
                )
            elif live and name not in present_policies:
                report((*loc, index), f"policy {name!r} is absent but still attached here")
        for name, count in Counter(names_list).items():
            if count > 1:
                report(loc, f"policy {name!r} is attached twice")
        _check_per_target(spec, loc, names_list, report)


def _check_per_target(spec: OrgSpec, loc: Loc, names: list[str], report: Report) -> None:
    """AWS's attachments per target, per policy type (AWS keeps FullAWSAccess and
    RCPFullAWSAccess attached to every target too, and counts them)."""
    types = {p.name: p.type for p in spec.policies}
    for policy_type in POLICY_TYPES:
        attached = len({n for n in names if types.get(n) == policy_type.name})
        if not attached:
            continue
        allowed = spec.quotas.policies_per_target_of(policy_type.name)
        counting = f" counting {policy_type.managed}" if policy_type.managed else ""
        total = attached + (1 if policy_type.managed else 0)
        if total > allowed:
            report(
                loc, f"{total} {policy_type.plural} on one target{counting}; AWS allows {allowed}"
            )


def check_read_role(spec: OrgSpec, report: Report) -> None:
    """``organization.read_role``: a name of its own, trusted by roles of the management account
    only (the only principals its trust lets in)."""
    declared = spec.organization.read_role
    if declared is None:
        return
    loc: Loc = ("organization", "read_role")
    others = {spec.organization.access_role} | {a.access_role for a in spec.accounts}
    if spec.stackset_roles is not None:
        others |= {spec.stackset_roles.execution_role, spec.stackset_roles.administration_role}
    if declared.name in others:
        report((*loc, "name"), f"{declared.name!r} is already another of orgkit's roles")
    management = spec.organization.management_account_id
    for index, arn in enumerate(declared.principal_arns):
        if arn.split(":")[4] != management:
            report(
                (*loc, "principal_arns", index),
                f"{arn!r} is not a role of the management account {management}: the read "
                "role trusts that account only",
            )


def _check_projects(spec: OrgSpec, report: Report) -> None:
    names: Counter[str] = Counter(p.name for p in spec.projects)
    reserved = {spec.organization.access_role}
    if spec.organization.read_role is not None:
        reserved.add(spec.organization.read_role.name)
    if spec.stackset_roles is not None:
        reserved |= {spec.stackset_roles.execution_role, spec.stackset_roles.administration_role}
    for index, project in enumerate(spec.projects):
        loc: Loc = ("projects", index)
        if names[project.name] > 1:
            report((*loc, "name"), f"duplicate project {project.name!r}")
        role = project.deployment_role
        if role is None:
            continue
        if not role.trust.github and not role.trust.principal_arns:
            report(
                (*loc, "deployment_role", "trust"),
                "say who may assume the role: github and/or principal_arns",
            )
        if role.name in reserved:
            report((*loc, "deployment_role", "name"), f"{role.name!r} is one of orgkit's own roles")


GLOBAL_SERVICES_REGION = "us-east-1"


def check_regions(spec: OrgSpec, report: Report) -> None:
    """``vars.allowed_regions`` is the list the region guardrail (scps/restrict-regions) denies
    outside of: it must hold us-east-1, where global services are served, and every region
    orgkit itself works in (the home region, the stack sets' regions)."""
    allowed = spec.vars.get("allowed_regions")
    if allowed is None:
        return
    if not isinstance(allowed, list) or not all(isinstance(r, str) for r in allowed):
        report(("vars", "allowed_regions"), "must be a list of region names")
        return
    if GLOBAL_SERVICES_REGION not in allowed:
        report(
            ("vars", "allowed_regions"),
            f"must include {GLOBAL_SERVICES_REGION}: global services (IAM, Organizations, "
            "CloudFront, Route 53, ACM for CloudFront) are served from it",
        )
    if spec.organization.home_region not in allowed:
        report(
            ("organization", "home_region"),
            f"{spec.organization.home_region} is not in vars.allowed_regions",
        )
    for index, stack_set in enumerate(spec.stack_sets):
        for i, region in enumerate(stack_set.regions):
            if region not in allowed:
                report(
                    ("stack_sets", index, "regions", i),
                    f"{region} is not in vars.allowed_regions (the region guardrail denies it)",
                )


def check_role_documents(spec: OrgSpec, report: Report) -> None:
    """The documents of each project's deployment role fit IAM's size limits (they grow with
    ``extra_actions``)."""
    import json

    from orgkit.config.roles import ACCOUNT_ID, deployment_role

    quotas = spec.quotas
    reported: set[tuple[str, object]] = set()
    for index, project in enumerate(spec.projects):
        role = project.deployment_role
        if role is None:
            continue
        for account in spec.accounts:
            if account.project != project.name or account.state != "active":
                continue
            # ${AccountId} is as long as an account id, so the sizes are the real ones.
            wanted = deployment_role(spec, account, project, role, ACCOUNT_ID, "o-0123456789")
            for what, document, limit in (
                ("permissions", wanted.permissions, quotas.iam_inline_policies_max_characters),
                ("boundary", wanted.boundary, quotas.iam_managed_policy_max_characters),
            ):
                size = len(json.dumps(document, separators=(",", ":")))
                if size > limit and (what, account.environment) not in reported:
                    reported.add((what, account.environment))
                    report(
                        ("projects", index, "deployment_role", "extra_actions"),
                        f"the {what} of {role.name} in {account.email} would be {size} "
                        f"characters; IAM allows {limit}: fewer or shorter extra_actions",
                    )


def _check_policies(spec: OrgSpec, policies: dict[str, PolicyDocument], report: Report) -> set[str]:
    names: Counter[str] = Counter(p.name for p in spec.policies)
    types: dict[str, set[str]] = {}
    for policy in spec.policies:
        types.setdefault(policy.name, set()).add(policy.type)
    managed = {t.managed for t in POLICY_TYPES if t.managed}
    for index, policy in enumerate(spec.policies):
        loc: Loc = ("policies", index)
        if names[policy.name] > 1:
            across = (
                " (names are unique across policy types: attachments name policies by name)"
                if len(types[policy.name]) > 1
                else ""
            )
            report((*loc, "name"), f"duplicate policy name {policy.name!r}{across}")
        if policy.name in managed:
            report((*loc, "name"), f"{policy.name} is AWS-managed; orgkit leaves it alone")
        if len(policy.name) > spec.quotas.policy_name_max_length:
            report(
                (*loc, "name"),
                f"policy name longer than {spec.quotas.policy_name_max_length} characters",
            )
        document = policies.get(policy.name)
        limit = spec.quotas.policy_max_characters(policy.type)
        if document is not None and document.size > limit:
            report(
                (*loc, "file"),
                f"{policy.file} is {document.size} characters without whitespace; "
                f"AWS allows {limit} for {POLICY_TYPE_BY_NAME[policy.type].plural}",
            )
    return set(names)


def issue_at(file: str, lines: Any, loc: Loc, message: str) -> ConfigIssue:
    """A ConfigIssue for a location in org.yaml."""
    return ConfigIssue(file, lines.line(loc), format_loc(loc, lines), message)


def check_stack_sets(spec: OrgSpec, templates: dict[str, Any], report: Report) -> None:
    """Stack sets: unique names, roles declared, targets and parameters that resolve."""
    if spec.stack_sets and spec.stackset_roles is None:
        report(
            ("stack_sets",), "self-managed stack sets need the role pair: declare stackset_roles"
        )
    names: Counter[str] = Counter(s.name for s in spec.stack_sets)
    ou_paths = {path for path, _, _ in spec.walk_ous()} | {ROOT_PATH}
    emails = {a.email.lower() for a in spec.accounts}
    projects = [p.name for p in spec.projects]
    for index, stack_set in enumerate(spec.stack_sets):
        loc: Loc = ("stack_sets", index)
        if names[stack_set.name] > 1:
            report((*loc, "name"), f"duplicate stack set {stack_set.name!r}")
        if stack_set.project is not None and stack_set.project not in projects:
            # The template names its resources after the project: a typo would rename them all.
            report(
                (*loc, "project"),
                f"unknown project {stack_set.project!r}{did_you_mean(stack_set.project, projects)}",
            )
        targets = stack_set.targets
        for i, path in enumerate(targets.ous):
            if path not in ou_paths:
                report(
                    (*loc, "targets", "ous", i),
                    f"unknown OU {path!r}{did_you_mean(path, ou_paths)}",
                )
        for i, name in enumerate(targets.projects):
            if name not in projects:
                report(
                    (*loc, "targets", "projects", i),
                    f"unknown project {name!r}{did_you_mean(name, projects)}",
                )
        for i, email in enumerate(targets.accounts):
            if email.lower() not in emails:
                report((*loc, "targets", "accounts", i), f"unknown account {email!r}")
        prefs = stack_set.operation_preferences
        if prefs.max_concurrent_count is not None and prefs.max_concurrent_percentage is not None:
            report(
                (*loc, "operation_preferences"),
                "give max_concurrent_count or max_concurrent_percentage, not both",
            )
        if (
            prefs.failure_tolerance_count is not None
            and prefs.failure_tolerance_percentage is not None
        ):
            report(
                (*loc, "operation_preferences"),
                "give failure_tolerance_count or failure_tolerance_percentage, not both",
            )
        for region in prefs.region_order:
            if region not in stack_set.regions:
                report(
                    (*loc, "operation_preferences", "region_order"),
                    f"region {region!r} is not one of the stack set's regions",
                )
        template = templates.get(stack_set.name)
        if template is None:
            continue
        size = len(template.body.encode())
        if size > spec.quotas.template_body_max_bytes:
            report(
                (*loc, "template"),
                f"rendered template is {size} bytes; CloudFormation "
                f"accepts {spec.quotas.template_body_max_bytes} inline",
            )
        declared = template.parameters
        for key in stack_set.parameters:
            if key not in declared:
                report(
                    (*loc, "parameters", key),
                    f"the template has no parameter {key!r}{did_you_mean(key, declared)}",
                )
        for environment, values in stack_set.environment_parameters.items():
            for key in values:
                if key not in declared:
                    report(
                        (*loc, "environment_parameters", environment.value, key),
                        f"the template has no parameter {key!r}{did_you_mean(key, declared)}",
                    )
        given = set(stack_set.parameters) | {"Environment"}
        if spec.alerts is not None:
            given.add(ALERT_EMAIL_PARAMETER)
        for key, declaration in declared.items():
            if key in given or "Default" in (declaration or {}):
                continue
            envs = stack_set.targets.environments or list(stack_set.environment_parameters)
            if not envs or any(
                key not in stack_set.environment_parameters.get(e, {}) for e in envs
            ):
                alerts = (
                    ": the template sends alerts there; say where alerts go in org.yaml "
                    "(alerts: {email: ...})"
                    if key == ALERT_EMAIL_PARAMETER
                    else ""
                )
                report(
                    (*loc, "parameters"),
                    f"the template's parameter {key!r} has no default and no value here{alerts}",
                )


# The outputs of the trail's source stack set (the log-archive template's).
TRAIL_OUTPUTS = ("BucketName", "KmsKeyArn")


def check_security(spec: OrgSpec, templates: dict[str, Any], report: Report) -> None:
    """``security:``: administrators and the Log Archive account are declared, active member
    accounts; the trail's stack set exists, targets the Log Archive account in the home region
    and outputs the bucket and key."""
    security = spec.security
    if security is None:
        return
    active = {a.email.lower(): a for a in spec.accounts if a.state == "active"}
    known = [a.email for a in spec.accounts]
    for service, email in security.delegated_admins.items():
        if email.lower() not in active:
            report(
                ("security", "delegated_admins", service),
                f"{email} is not an active account in org.yaml{did_you_mean(email, known)}",
            )
    trail = security.trail
    if trail is None:
        return
    if trail.account.lower() not in active:
        report(
            ("security", "trail", "account"),
            f"{trail.account} is not an active account in org.yaml"
            + did_you_mean(trail.account, known),
        )
        return
    names = [s.name for s in spec.stack_sets if s.state != "absent"]
    stack_set = next((s for s in spec.stack_sets if s.name == trail.stack_set), None)
    if stack_set is None or stack_set.state == "absent":
        report(
            ("security", "trail", "stack_set"),
            f"no stack set {trail.stack_set!r} in org.yaml{did_you_mean(trail.stack_set, names)}",
        )
        return
    targets = {a.email.lower() for a in resolve_targets(spec, stack_set)}
    home = spec.organization.home_region
    if trail.account.lower() not in targets or home not in stack_set.regions:
        report(
            ("security", "trail", "stack_set"),
            f"stack set {trail.stack_set!r} must target {trail.account} in {home}, where the "
            "trail reads its bucket and key",
        )
    template = templates.get(trail.stack_set)
    if template is not None:
        missing = [o for o in TRAIL_OUTPUTS if o not in template.outputs]
        if missing:
            report(
                ("security", "trail", "stack_set"),
                f"the template of stack set {trail.stack_set!r} has no output "
                f"{', '.join(missing)}: the trail writes to BucketName, encrypted with KmsKeyArn",
            )
