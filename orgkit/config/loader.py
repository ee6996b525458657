"""Load org.yaml and the files it names into a validated :class:`Config`.

Every problem found is reported at once, as a :class:`ConfigError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from orgkit.config.models import ROLE_NAME_PATTERN, OrgSpec, StackSetSpec
from orgkit.config.policies import PolicyDocument, load_document, load_policy, security_context
from orgkit.config.source import LineMap, Loc, read_yaml
from orgkit.config.validate import check_security, check_semantics, check_stack_sets, issue_at
from orgkit.errors import ConfigError, ConfigIssue, OrgkitError, did_you_mean
from orgkit.render.jinja import environment
from orgkit.render.templates import RenderedTemplate, render_template


@dataclass(frozen=True)
class Config:
    """A loaded and validated org.yaml with its policy documents."""

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
    """Parse, schema-check, load policies and check semantics; raise ConfigError with every
    issue."""
    path = Path(path)
    display = str(path)
    if not path.exists():
        folder = path.parent.resolve()
        raise OrgkitError(
            f"no {path.name} in {folder}" + ("" if path.parent.exists() else " (no such folder)"),
            hint="Run orgkit in the folder that holds org.yaml, or name it with --config PATH "
            "(or the ORGKIT_CONFIG variable); `orgkit import` writes one from an existing "
            "organization.",
        )
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

    def readable(relative: str, loc: Loc, what: str) -> bool:
        """The file is inside org.yaml's folder and exists; otherwise say so at its line."""
        problem = outside(path.parent, relative)
        if problem is None and not (path.parent / relative).is_file():
            problem = f"{relative} not found"
        if problem is not None:
            issues.append(issue_at(display, source.lines, loc, f"{what}: {problem}"))
        return problem is None

    policies: dict[str, PolicyDocument] = {}
    for index, policy in enumerate(spec.policies):
        if policy.state == "absent":
            continue
        if not readable(policy.file, ("policies", index, "file"), f"policy {policy.name!r}"):
            continue
        document, problems = load_policy(spec, policy, path.parent, env)
        issues += problems
        if document is not None:
            policies[policy.name] = document

    execution_permissions = None
    execution_file = spec.stackset_roles.execution_policy_file if spec.stackset_roles else None
    if execution_file is not None and readable(
        execution_file, ("stackset_roles", "execution_policy_file"), "execution policy"
    ):
        execution_permissions, problems = load_document(
            spec, execution_file, path.parent, env, grammar="iam"
        )
        issues += problems

    templates: dict[str, RenderedTemplate] = {}
    for index, stack_set in enumerate(spec.stack_sets):
        if stack_set.state == "absent":
            continue
        if not readable(
            stack_set.template, ("stack_sets", index, "template"), f"stack set {stack_set.name!r}"
        ):
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
    check_security(spec, templates, report)
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


def outside(base_dir: Path, relative: str) -> str | None:
    """Why a path named in org.yaml is not a file inside org.yaml's folder, or None.

    Policy files and templates are read (and rendered) from the repository that holds org.yaml
    and nowhere else: no absolute path, no ``..`` out of the folder, no symlink leading out.
    """
    candidate = Path(relative)
    if candidate.is_absolute() or relative.startswith("~"):
        return f"{relative} is not a path relative to org.yaml's folder"
    base = base_dir.resolve()
    try:
        (base / candidate).resolve().relative_to(base)
    except ValueError:
        return f"{relative} leads outside org.yaml's folder ({base_dir})"
    return None


def template_context(spec: OrgSpec, stack_set: StackSetSpec) -> dict[str, Any]:
    """What a CloudFormation template can refer to."""
    return {
        "project": stack_set.project,
        "vars": spec.vars,
        "organization": spec.organization.model_dump(mode="json"),
        "stack_set": stack_set.name,
        "security": security_context(spec),
    }


def _pydantic_issue(file: str, lines: LineMap, error: Any) -> ConfigIssue:
    loc = tuple(error["loc"])
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown field" + did_you_mean(str(loc[-1]), _fields_at(OrgSpec, loc[:-1]))
    elif error["type"] == "missing":
        message = "required field is missing"
    elif error["type"] == "literal_error" or error["type"] == "enum":
        message = f"{message} (got {error.get('input')!r})"
    elif (
        error["type"] == "string_pattern_mismatch"
        and error.get("ctx", {}).get("pattern") == ROLE_NAME_PATTERN
    ):
        message = (
            f"{error.get('input')!r} is not an IAM role name (1 to 64 letters, digits and "
            "+=,.@_- only; no * or /)"
        )
    elif loc and loc[-1] == "management_account_id" and error["type"] == "string_type":
        message = f'{message}: write the id in quotes, e.g. "012345678901"'
    return issue_at(file, lines, loc, message)


def _fields_at(model: Any, loc: Loc) -> list[str]:
    """The field names of the model found at ``loc`` below ``model`` (empty if none is)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int) or not _is_model(current):
            continue
        field_info = current.model_fields.get(part)
        if field_info is None:
            return []
        current = field_info.annotation
    current = _unwrap(current)
    return list(current.model_fields) if _is_model(current) else []


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _unwrap(annotation: Any) -> Any:
    """The model inside ``X | None``, ``list[X]``, ``dict[K, X]`` or ``Annotated[X, ...]``."""
    for _ in range(5):
        if _is_model(annotation):
            return annotation
        candidates = [a for a in get_args(annotation) if a is not type(None)]
        if not candidates:
            return annotation
        annotation = next((a for a in candidates if _is_model(_unwrap(a))), candidates[-1])
    return annotation
