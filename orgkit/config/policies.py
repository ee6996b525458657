"""Load policy documents (scps/, policies/): render jinja2, parse JSON, check each type's grammar,
measure the size AWS counts.

Two grammars, as AWS documents them:

- SCPs and RCPs are IAM policies: ``Version``/``Statement``, each statement an ``Effect`` with
  actions and (RCPs) a ``Principal``. RCPs are stricter: ``Effect`` is ``Deny``, ``Principal`` is
  ``"*"``, no ``NotPrincipal`` or ``NotAction``, and their actions name only the services RCPs
  apply to (AWS Organizations User Guide: "RCP syntax", "List of AWS services that support RCPs").
- Tag, backup and AI services opt-out policies are management policies: a JSON object under one
  fixed top-level key (``tags``, ``plans``, ``services``) whose settings are set with the
  inheritance operators ``@@assign``, ``@@append`` and ``@@remove`` and limited with
  ``@@operators_allowed_for_child_policies`` ("Policy syntax and inheritance for management
  policy types").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from orgkit.config.models import Environment, OrgSpec, PolicySpec, StackSetRolesSpec, TrailSpec
from orgkit.errors import ConfigIssue
from orgkit.names import POLICY_TYPE_BY_NAME
from orgkit.render.jinja import render_file

# What a policy file writes for the organization's id (jinja2: {{ organization_id }}); the plan
# fills in the live organization's, as for stack set parameters. Sizes are measured with the
# longest id AWS issues (o- and 32 characters), so a policy that fits here fits in AWS.
ORGANIZATION_ID = "${OrganizationId}"
MANAGEMENT_ACCOUNT_ID = "${ManagementAccountId}"
LONGEST_ORGANIZATION_ID = "o-" + "x" * 32


@dataclass(frozen=True)
class PolicyDocument:
    """A policy as orgkit will send it: parsed, and minified as AWS measures it."""

    name: str
    file: str
    description: str
    document: dict[str, Any]
    type: str = "service_control"  # org.yaml's name of the policy type

    @property
    def content(self) -> str:
        """The document without insignificant whitespace: what orgkit uploads."""
        return minify(self.document)

    @property
    def size(self) -> int:
        """Characters AWS counts against the type's size quota (placeholders at their longest)."""
        text = self.content.replace(ORGANIZATION_ID, LONGEST_ORGANIZATION_ID)
        return len(text.replace(MANAGEMENT_ACCOUNT_ID, "0" * 12))

    @property
    def label(self) -> str:
        """How errors and plans name this policy's type (SCP, tag policy, ...)."""
        return POLICY_TYPE_BY_NAME[self.type].label


STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)

# The services RCPs apply to, by IAM prefix: AWS Organizations User Guide, "List of AWS services
# that support RCPs" (read 2026-09). An RCP statement on any other service would deny nothing.
RCP_SERVICES = frozenset(
    {
        "aoss",
        "appconfig",
        "appstream",
        "autoscaling",
        "autoscaling-plans",
        "budgets",
        "clouddirectory",
        "cloudfront",
        "cloudsearch",
        "cloudtrail-data",
        "codeartifact",
        "codebuild",
        "codecommit",
        "codepipeline",
        "cognito-identity",
        "cognito-idp",
        "comprehend",
        "comprehendmedical",
        "compute-optimizer",
        "cost-optimization-hub",
        "dax",
        "dsql",
        "dynamodb",
        "ecr",
        "ecr-public",
        "events",
        "fis",
        "firehose",
        "fms",
        "gamelift",
        "health",
        "inspector-scan",
        "kendra",
        "kinesisvideo",
        "kms",
        "logs",
        "memorydb",
        "networkmonitor",
        "notifications",
        "opensearch",
        "pca-connector-ad",
        "personalize",
        "polly",
        "pricing",
        "resource-groups",
        "rolesanywhere",
        "s3",
        "secretsmanager",
        "servicediscovery",
        "signin",
        "sqs",
        "sts",
        "support",
        "swf",
        "textract",
        "timestream-influxdb",
        "transcribe",
        "transfer",
        "translate",
        "wafv2",
        "workspaces",
        "xray",
    }
)

# Management policies: the one top-level key of each type, and the inheritance operators.
MANAGEMENT_ROOT = {"tag": "tags", "backup": "plans", "aiservices_opt_out": "services"}
VALUE_OPERATORS = ("@@assign", "@@append", "@@remove")
CHILD_CONTROL = "@@operators_allowed_for_child_policies"
CHILD_CONTROL_VALUES = ("@@all", "@@none", *VALUE_OPERATORS)
OPERATORS = (*VALUE_OPERATORS, CHILD_CONTROL)
# Tag policies: enforced_for names <service>:<resource type>, <service>:* or
# <service>:ALL_SUPPORTED; no wildcard for every service.
ENFORCED_FOR = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9_*/.-]+$")
# Backup policies: the role AWS Backup assumes, in the account the plan runs in ($account).
BACKUP_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\$account|\d{12}):role/[\w+=,.@/-]+$")
AI_OPT_OUT_VALUES = ("optIn", "optOut")


def minify(document: Any) -> str:
    """JSON with no whitespace outside strings."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def fill_ids(document: Any, organization_id: str, management_account_id: str) -> Any:
    """``document`` with orgkit's placeholders (``${OrganizationId}``,
    ``${ManagementAccountId}``) replaced by the live organization's ids, in every string."""
    if isinstance(document, str):
        return document.replace(ORGANIZATION_ID, organization_id).replace(
            MANAGEMENT_ACCOUNT_ID, management_account_id
        )
    if isinstance(document, list):
        return [fill_ids(item, organization_id, management_account_id) for item in document]
    if isinstance(document, dict):
        return {
            fill_ids(key, organization_id, management_account_id): fill_ids(
                value, organization_id, management_account_id
            )
            for key, value in document.items()
        }
    return document


def template_context(spec: OrgSpec) -> dict[str, Any]:
    """What policy files (and the StackSet execution policy) can refer to."""
    roles = spec.stackset_roles or StackSetRolesSpec.model_validate({})
    return {
        "vars": spec.vars,
        **spec.vars,
        "organization": spec.organization.model_dump(mode="json"),
        # The live organization's id is known only when planning: the placeholder is filled in
        # then (kinds/policy.py), as ${OrganizationId} is in stack set parameters.
        "organization_id": ORGANIZATION_ID,
        "stackset_roles": roles.model_dump(mode="json"),
        # The organization trail and the Log Archive account's break-glass role (guardrails
        # and the log-archive template): {"trail_name", "log_archive_account",
        # "break_glass_role"}, empty values without a security.trail.
        "security": security_context(spec),
        "projects": [p.name for p in spec.projects],
        "environments": [e.value for e in Environment],
        # The projects' deployment roles, for guardrails that protect them, their boundaries
        # and the OIDC provider they trust: [{"project", "role", "role_arn", "boundary_arn",
        # "github"}], ARNs with any account.
        # What the projects' platform stack sets own, by name prefix: "<project>-<environment>"
        # for every active project account (guardrails that protect the platform's data).
        "platform_prefixes": sorted(
            {
                f"{a.project}-{a.environment.value}"
                for a in spec.accounts
                if a.project is not None and a.state == "active"
            }
        ),
        "deployment_roles": [
            {
                "project": p.name,
                "role": p.deployment_role.name,
                "role_arn": f"arn:aws:iam::*:role/{p.deployment_role.name}",
                "boundary_arn": f"arn:aws:iam::*:policy/{p.deployment_role.name}Boundary",
                "github": p.deployment_role.trust.github is not None,
            }
            for p in spec.projects
            if p.deployment_role is not None
        ],
    }


def load_policy(
    spec: OrgSpec,
    policy: PolicySpec,
    base_dir: Path,
    env: jinja2.Environment,
) -> tuple[PolicyDocument | None, list[ConfigIssue]]:
    """Read, render and parse one policy file, checked against its type's grammar."""
    document, issues = load_document(spec, policy.file, base_dir, env, grammar=policy.type)
    if document is None:
        return None, issues
    return (
        PolicyDocument(policy.name, policy.file, policy.description, document, policy.type),
        [],
    )


def load_document(
    spec: OrgSpec, file: str, base_dir: Path, env: jinja2.Environment, *, grammar: str
) -> tuple[dict[str, Any] | None, list[ConfigIssue]]:
    """Read, render (``*.j2``) and parse a policy document, checking it.

    ``grammar`` is a policy type of org.yaml (``service_control``, ``resource_control``,
    ``tag``, ``backup``, ``aiservices_opt_out``), or ``iam`` for an IAM permissions policy.
    """
    path = base_dir / file
    display = file
    if not path.is_file():
        return None, [ConfigIssue(display, None, "", "file not found")]
    if file.endswith(".j2"):
        text, issue = render_file(env, file, template_context(spec), display)
        if issue is not None:
            return None, [issue]
        if text is None:  # render_file returns text or an issue
            raise AssertionError("rendering returned neither text nor an issue")
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            byte = exc.object[exc.start]
            return None, [ConfigIssue(display, None, "", f"not UTF-8 text (byte {byte:#04x})")]
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [
            ConfigIssue(display, exc.lineno, "", f"invalid JSON: {exc.msg} (column {exc.colno})")
        ]
    if not isinstance(document, dict):
        return None, [ConfigIssue(display, 1, "", "a policy must be a JSON object")]
    if grammar in MANAGEMENT_ROOT:
        issues = _check_management(document, text, display, grammar)
    else:
        issues = _check_statements(document, text, display, grammar=grammar)
    return (None, issues) if issues else (document, [])


# -- IAM grammar: SCPs, RCPs, permissions policies ------------------------------------------
def _check_statements(
    document: dict[str, Any], text: str, display: str, *, grammar: str
) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    rcp = grammar == "resource_control"
    what = "an RCP" if rcp else "a policy"
    if "Statement" not in document:
        issues.append(ConfigIssue(display, 1, "Statement", f"{what} needs a Statement"))
    version = document.get("Version")
    if version not in (None, "2012-10-17") or (rcp and version is None):
        issues.append(
            ConfigIssue(display, _line_of(text, "Version"), "Version", "must be 2012-10-17")
        )
    unknown_top = sorted(set(document) - {"Version", "Statement", "Id"})
    if rcp and unknown_top:
        issues.append(
            ConfigIssue(
                display,
                _line_of(text, unknown_top[0]),
                unknown_top[0],
                "not an RCP element (an RCP has Version and Statement)",
            )
        )
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        issues.append(
            ConfigIssue(
                display,
                _line_of(text, "Statement"),
                "Statement",
                "must be an object or a list of objects",
            )
        )
        statements = []
    seen: dict[str, int] = {}  # key -> statements before this one that have it (for lines)

    def line(statement: dict[str, Any], key: str) -> int | None:
        return _line_of(text, key, seen.get(key, 0)) if key in statement else None

    for index, statement in enumerate(statements):
        field = f"Statement[{index}]"
        if not isinstance(statement, dict):
            issues.append(ConfigIssue(display, None, field, "must be an object"))
            continue
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            issues.append(
                ConfigIssue(
                    display,
                    line(statement, "Effect") or _line_of(text, "Effect"),
                    f"{field}.Effect",
                    "must be Allow or Deny",
                )
            )
        elif rcp and effect != "Deny":
            issues.append(
                ConfigIssue(
                    display,
                    line(statement, "Effect"),
                    f"{field}.Effect",
                    "RCPs only deny: Effect must be Deny (Allow is for AWS's RCPFullAWSAccess)",
                )
            )
        if "Action" not in statement and "NotAction" not in statement:
            issues.append(ConfigIssue(display, None, field, "needs Action or NotAction"))
        unknown = sorted(set(statement) - STATEMENT_KEYS - {"Principal", "NotPrincipal"})
        if unknown:
            issues.append(
                ConfigIssue(
                    display,
                    _line_of(text, unknown[0]),
                    f"{field}.{unknown[0]}",
                    "not a policy statement element (allowed: "
                    f"{', '.join(sorted(STATEMENT_KEYS))})",
                )
            )
        if grammar == "service_control" and (
            "Principal" in statement or "NotPrincipal" in statement
        ):
            issues.append(
                ConfigIssue(
                    display, _line_of(text, "Principal"), field, "SCPs cannot name a Principal"
                )
            )
        if rcp:
            issues += _check_rcp_statement(statement, field, display, line)
        if grammar != "service_control" and (
            "Resource" not in statement and "NotResource" not in statement
        ):
            issues.append(ConfigIssue(display, None, field, "needs Resource or NotResource"))
        for key in statement:
            seen[key] = seen.get(key, 0) + 1
    return issues


def _check_rcp_statement(
    statement: dict[str, Any], field: str, display: str, line: Any
) -> list[ConfigIssue]:
    """What AWS's RCP syntax allows beyond an IAM statement's shape."""
    issues: list[ConfigIssue] = []
    for element in ("NotPrincipal", "NotAction"):
        if element in statement:
            issues.append(
                ConfigIssue(
                    display,
                    line(statement, element),
                    f"{field}.{element}",
                    f"RCPs do not support {element}",
                )
            )
    if statement.get("Principal") != "*":
        issues.append(
            ConfigIssue(
                display,
                line(statement, "Principal"),
                f"{field}.Principal",
                'RCPs take Principal "*" only (narrow who is denied with Condition)',
            )
        )
    actions = statement.get("Action", [])
    for action in [actions] if isinstance(actions, str) else actions:
        if not isinstance(action, str):
            continue
        prefix = action.split(":", 1)[0].lower()
        if action != "*" and prefix not in RCP_SERVICES:
            issues.append(
                ConfigIssue(
                    display,
                    line(statement, "Action"),
                    f"{field}.Action",
                    f"RCPs do not apply to {prefix} ({action!r}): AWS supports RCPs for a "
                    "subset of services (docs/policy-types.md lists them)",
                )
            )
    return issues


# -- management policies: tag, backup, AI services opt-out ----------------------------------
def _check_management(
    document: dict[str, Any], text: str, display: str, policy_type: str
) -> list[ConfigIssue]:
    plural = POLICY_TYPE_BY_NAME[policy_type].plural
    root = MANAGEMENT_ROOT[policy_type]
    issues: list[ConfigIssue] = []
    for key in sorted(set(document) - {root}):
        issues.append(
            ConfigIssue(
                display,
                _line_of(text, key),
                key,
                f'unknown top-level key: {plural} have one, "{root}"',
            )
        )
    if root not in document:
        issues.append(ConfigIssue(display, 1, root, f'{plural} need a top-level "{root}" object'))
    elif not isinstance(document[root], dict):
        issues.append(ConfigIssue(display, _line_of(text, root), root, "must be a JSON object"))
    for path, key, value in _walk(document):
        if not key.startswith("@@"):
            continue
        where = ".".join(path + [key])
        if key not in OPERATORS:
            issues.append(
                ConfigIssue(
                    display,
                    _line_of(text, key),
                    where,
                    f"{key} is not an inheritance operator (allowed: {', '.join(OPERATORS)})",
                )
            )
        elif key in ("@@append", "@@remove") and not isinstance(value, list):
            issues.append(
                ConfigIssue(display, _line_of(text, key), where, f"{key} takes a list of values")
            )
        elif key == CHILD_CONTROL and (
            not isinstance(value, list) or any(v not in CHILD_CONTROL_VALUES for v in value)
        ):
            issues.append(
                ConfigIssue(
                    display,
                    _line_of(text, key),
                    where,
                    f"must be a list of {', '.join(CHILD_CONTROL_VALUES)}",
                )
            )
    checks = {"tag": _check_tag, "backup": _check_backup, "aiservices_opt_out": _check_ai}
    return issues + checks[policy_type](document, text, display)


def _walk(node: Any, path: list[str] | None = None) -> Iterator[tuple[list[str], str, Any]]:
    """Every (path, key, value) of a JSON document's objects, depth first."""
    path = path or []
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, str(key), value
            yield from _walk(value, [*path, str(key)])
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, [*path[:-1], f"{path[-1]}[{index}]"] if path else [])


def _operand(value: Any) -> list[Any]:
    """The values a setting assigns, appends or removes (a bare value counts as assigned)."""
    if isinstance(value, dict):
        found: list[Any] = []
        for operator in VALUE_OPERATORS:
            if operator in value:
                operand = value[operator]
                found += operand if isinstance(operand, list) else [operand]
        return found
    return value if isinstance(value, list) else [value]


def _check_tag(document: dict[str, Any], text: str, display: str) -> list[ConfigIssue]:
    issues = []
    for path, key, value in _walk(document):
        if key != "enforced_for":
            continue
        for entry in _operand(value):
            if not isinstance(entry, str) or not ENFORCED_FOR.match(entry):
                issues.append(
                    ConfigIssue(
                        display,
                        _line_of(text, "enforced_for"),
                        ".".join([*path, key]),
                        f"{entry!r} is not <service>:<resource type> (AWS has no wildcard "
                        "for every service)",
                    )
                )
    return issues


def _check_backup(document: dict[str, Any], text: str, display: str) -> list[ConfigIssue]:
    issues = []
    for path, key, value in _walk(document):
        if key != "iam_role_arn":
            continue
        for arn in _operand(value):
            if not isinstance(arn, str) or not BACKUP_ROLE_ARN.match(arn):
                issues.append(
                    ConfigIssue(
                        display,
                        _line_of(text, "iam_role_arn"),
                        ".".join([*path, key]),
                        f"{arn!r} is not an IAM role ARN (arn:aws:iam::$account:role/NAME; "
                        "AWS Backup fills in $account)",
                    )
                )
    return issues


def _check_ai(document: dict[str, Any], text: str, display: str) -> list[ConfigIssue]:
    issues = []
    for path, key, value in _walk(document):
        if key != "opt_out_policy":
            continue
        for setting in _operand(value):
            if setting not in AI_OPT_OUT_VALUES:
                issues.append(
                    ConfigIssue(
                        display,
                        _line_of(text, "opt_out_policy"),
                        ".".join([*path, key]),
                        f"{setting!r} is neither optIn nor optOut",
                    )
                )
    return issues


def _line_of(text: str, key: str, occurrence: int = 0) -> int | None:
    """The line of the ``occurrence``-th ``"key":`` (0 is the first), else of the first mention
    of ``"key"``: good enough to point a person at it."""
    needle = f'"{key}"'
    as_key = re.compile(re.escape(needle) + r"\s*:")
    keys = [n for n, line in enumerate(text.splitlines(), start=1) if as_key.search(line)]
    if occurrence < len(keys):
        return keys[occurrence]
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None


def security_context(spec: OrgSpec) -> dict[str, str]:
    trail = spec.security.trail if spec.security is not None else None
    if trail is None:
        default = TrailSpec.model_fields["break_glass_role"].default
        return {
            "trail_name": "",
            "trail_stack_set": "",
            "log_archive_account": "",
            "break_glass_role": default,
        }
    return {
        "trail_name": trail.name,
        "trail_stack_set": trail.stack_set,
        "log_archive_account": trail.account.lower(),
        "break_glass_role": trail.break_glass_role,
    }
