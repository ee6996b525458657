"""Load SCP documents from scps/: render jinja2, parse JSON, measure the size AWS counts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from orgkit.config.models import OrgSpec, PolicySpec, StackSetRolesSpec, TrailSpec
from orgkit.errors import ConfigIssue
from orgkit.render.jinja import render_file


@dataclass(frozen=True)
class PolicyDocument:
    """An SCP as orgkit will send it: parsed, and minified as AWS measures it."""

    name: str
    file: str
    description: str
    document: dict[str, Any]

    @property
    def content(self) -> str:
        """The document without insignificant whitespace: what orgkit uploads."""
        return minify(self.document)

    @property
    def size(self) -> int:
        """Characters AWS counts against the SCP size quota."""
        return len(self.content)


STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)


def minify(document: Any) -> str:
    """JSON with no whitespace outside strings."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def template_context(spec: OrgSpec) -> dict[str, Any]:
    """What SCP and CloudFormation templates can refer to."""
    roles = spec.stackset_roles or StackSetRolesSpec.model_validate({})
    return {
        "vars": spec.vars,
        **spec.vars,
        "organization": spec.organization.model_dump(mode="json"),
        "stackset_roles": roles.model_dump(mode="json"),
        # The organization trail and the Log Archive account's break-glass role (guardrails
        # and the log-archive template): {"trail_name", "log_archive_account",
        # "break_glass_role"}, empty values without a security.trail.
        "security": security_context(spec),
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
    """Read, render and parse one SCP file; return it or the issues found."""
    document, issues = load_document(spec, policy.file, base_dir, env, scp=True)
    if document is None:
        return None, issues
    return PolicyDocument(policy.name, policy.file, policy.description, document), []


def load_document(
    spec: OrgSpec, file: str, base_dir: Path, env: jinja2.Environment, *, scp: bool
) -> tuple[dict[str, Any] | None, list[ConfigIssue]]:
    """Read, render (``*.j2``) and parse a policy document, checking its statements.

    ``scp`` selects the SCP grammar (no Principal); otherwise an IAM permissions policy.
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
        text = path.read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [
            ConfigIssue(display, exc.lineno, "", f"invalid JSON: {exc.msg} (column {exc.colno})")
        ]
    if not isinstance(document, dict):
        return None, [ConfigIssue(display, 1, "", "a policy must be a JSON object")]
    issues = _check_statements(document, text, display, scp=scp)
    return (None, issues) if issues else (document, [])


def _check_statements(
    document: dict[str, Any], text: str, display: str, *, scp: bool
) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    if "Statement" not in document:
        issues.append(ConfigIssue(display, 1, "Statement", "a policy needs a Statement"))
    version = document.get("Version")
    if version not in (None, "2012-10-17"):
        issues.append(
            ConfigIssue(display, _line_of(text, "Version"), "Version", "must be 2012-10-17")
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
    for index, statement in enumerate(statements):
        field = f"Statement[{index}]"
        if not isinstance(statement, dict):
            issues.append(ConfigIssue(display, None, field, "must be an object"))
            continue
        if statement.get("Effect") not in ("Allow", "Deny"):
            issues.append(
                ConfigIssue(
                    display, _line_of(text, "Effect"), f"{field}.Effect", "must be Allow or Deny"
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
        if scp and ("Principal" in statement or "NotPrincipal" in statement):
            issues.append(
                ConfigIssue(
                    display, _line_of(text, "Principal"), field, "SCPs cannot name a Principal"
                )
            )
        if not scp and "Resource" not in statement and "NotResource" not in statement:
            issues.append(ConfigIssue(display, None, field, "needs Resource or NotResource"))
    return issues


def _line_of(text: str, key: str) -> int | None:
    """The first line mentioning ``"key"``: good enough to point a person at it."""
    needle = f'"{key}"'
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None


def security_context(spec: OrgSpec) -> dict[str, str]:
    trail = spec.security.trail if spec.security is not None else None
    if trail is None:
        default = TrailSpec.model_fields["break_glass_role"].default
        return {"trail_name": "", "log_archive_account": "", "break_glass_role": default}
    return {
        "trail_name": trail.name,
        "log_archive_account": trail.account.lower(),
        "break_glass_role": trail.break_glass_role,
    }
