"""Load org.yaml and the files it names into a validated :class:`Config`.

Every problem found is reported at once, as a :class:`ConfigError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from orgkit.config.models import OrgSpec, StackSetSpec
from orgkit.config.policies import PolicyDocument, load_document, load_policy
from orgkit.config.source import LineMap, Loc, read_yaml
from orgkit.config.validate import check_semantics, check_stack_sets, issue_at
from orgkit.errors import ConfigError, ConfigIssue
from orgkit.render.jinja import environment
from orgkit.render.templates import RenderedTemplate, render_template


@dataclass(frozen=True)
class Config:
    """A loaded and validated org.yaml with its SCP documents."""

    path: Path
    spec: OrgSpec
    policies: dict[str, PolicyDocument]
    lines: LineMap = field(repr=False)
    execution_permissions: dict[str, Any] | None = None
    templates: dict[str, RenderedTemplate] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A digest of what was loaded: a saved plan applies only with the same config."""
        import hashlib
        import json

        data = {
            "spec": self.spec.model_dump(mode="json"),
            "policies": {n: p.document for n, p in sorted(self.policies.items())},
            "templates": {n: t.body for n, t in sorted(self.templates.items())},
            "execution_permissions": self.execution_permissions,
        }
        text = json.dumps(data, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def base_dir(self) -> Path:
        """The folder org.yaml's relative paths start from."""
        return self.path.parent


def load_config(path: str | Path) -> Config:
    """Parse, schema-check, load SCPs and check semantics; raise ConfigError with every issue."""
    path = Path(path)
    display = str(path)
    source = read_yaml(path, display)
    if not isinstance(source.data, dict):
        raise ConfigError([ConfigIssue(display, 1, "", "org.yaml must be a mapping")])
    try:
        spec = OrgSpec.model_validate(source.data)
    except ValidationError as exc:
        raise ConfigError(
            [_pydantic_issue(display, source.lines, error) for error in exc.errors()]
        ) from None

    issues: list[ConfigIssue] = []
    env = environment(path.parent)
    policies: dict[str, PolicyDocument] = {}
    for index, policy in enumerate(spec.policies):
        if policy.state == "absent":
            continue
        if not (path.parent / policy.file).is_file():
            issues.append(
                issue_at(
                    display,
                    source.lines,
                    ("policies", index, "file"),
                    f"policy {policy.name!r}: {policy.file} not found",
                )
            )
            continue
        document, problems = load_policy(spec, policy, path.parent, env)
        issues += problems
        if document is not None:
            policies[policy.name] = document

    execution_permissions = None
    execution_file = spec.stackset_roles.execution_policy_file if spec.stackset_roles else None
    if execution_file is not None:
        execution_permissions, problems = load_document(
            spec, execution_file, path.parent, env, scp=False
        )
        issues += problems

    templates: dict[str, RenderedTemplate] = {}
    for index, stack_set in enumerate(spec.stack_sets):
        if stack_set.state == "absent":
            continue
        if not (path.parent / stack_set.template).is_file():
            issues.append(
                issue_at(
                    display,
                    source.lines,
                    ("stack_sets", index, "template"),
                    f"stack set {stack_set.name!r}: {stack_set.template} not found",
                )
            )
            continue
        rendered, problems = render_template(
            stack_set.name, stack_set.template, template_context(spec, stack_set), path.parent, env
        )
        issues += problems
        if rendered is not None:
            templates[stack_set.name] = rendered

    def report(loc: Loc, message: str) -> None:
        issues.append(issue_at(display, source.lines, loc, message))

    check_semantics(spec, policies, report)
    check_stack_sets(spec, templates, report)
    if issues:
        raise ConfigError(issues)
    return Config(
        path=path,
        spec=spec,
        policies=policies,
        lines=source.lines,
        execution_permissions=execution_permissions,
        templates=templates,
    )


def template_context(spec: OrgSpec, stack_set: StackSetSpec) -> dict[str, Any]:
    """What a CloudFormation template can refer to."""
    return {
        "project": stack_set.project,
        "vars": spec.vars,
        "organization": spec.organization.model_dump(mode="json"),
        "stack_set": stack_set.name,
    }


def _pydantic_issue(file: str, lines: LineMap, error: Any) -> ConfigIssue:
    loc = tuple(error["loc"])
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "missing":
        message = "required field is missing"
    elif error["type"] == "literal_error" or error["type"] == "enum":
        message = f"{message} (got {error.get('input')!r})"
    elif loc and loc[-1] == "management_account_id" and error["type"] == "string_type":
        message = f'{message}: write the id in quotes, e.g. "012345678901"'
    return issue_at(file, lines, loc, message)
