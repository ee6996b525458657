"""jinja2 → CloudFormation: render a stack set's template, read its Parameters, lint it."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from orgkit.errors import ConfigIssue
from orgkit.render.jinja import render_file


@dataclass(frozen=True)
class RenderedTemplate:
    """A stack set's template as CloudFormation will receive it."""

    stack_set: str
    file: str
    body: str
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> declaration
    outputs: tuple[str, ...] = ()  # the names of its Outputs


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that accepts CloudFormation's short-form tags (!Ref, !Sub, ...)."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    return {suffix: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]


_CfnLoader.add_multi_constructor("!", _tagged)


def render_template(
    name: str, template: str, context: dict[str, Any], base_dir: Path, env: jinja2.Environment
) -> tuple[RenderedTemplate | None, list[ConfigIssue]]:
    """Render and parse stack set ``name``'s template file (relative to ``base_dir``) with
    ``context``; return it or the issues found."""
    display = template
    if not (base_dir / template).is_file():
        return None, [ConfigIssue(display, None, "", "template not found")]
    body, issue = render_file(env, template, context, display)
    if issue is not None:
        return None, [issue]
    if body is None:  # render_file returns text or an issue
        raise AssertionError("rendering returned neither text nor an issue")
    try:
        parsed = yaml.load(body, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f" (rendered line {mark.line + 1})" if mark else ""
        return None, [
            ConfigIssue(
                display, None, "", f"rendered template is not valid YAML{line}: {exc.problem}"
            )
        ]
    if not isinstance(parsed, dict) or "Resources" not in parsed:
        return None, [
            ConfigIssue(display, None, "Resources", "a CloudFormation template needs Resources")
        ]
    parameters = parsed.get("Parameters") or {}
    outputs = parsed.get("Outputs") or {}
    return RenderedTemplate(name, template, body, dict(parameters), tuple(outputs)), []


def lint(template: RenderedTemplate, regions: list[str]) -> list[tuple[str, ConfigIssue]]:
    """cfn-lint findings as (severity, issue); lines are lines of the rendered template."""
    return list(_lint(template.body, template.file, template.stack_set, tuple(regions)))


@functools.lru_cache(maxsize=64)
def _lint(
    body: str, file: str, stack_set: str, regions: tuple[str, ...]
) -> tuple[tuple[str, ConfigIssue], ...]:
    """cfn-lint is deterministic and takes a second a template: a template linted once in a
    process (validate, then apply; the sandbox; the tests) is not linted again."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    matches = cfn_lint(body, config=ManualArgs(regions=list(regions)))
    return tuple(
        (
            match.rule.severity.lower(),
            ConfigIssue(
                f"{file} (rendered for {stack_set})", match.linenumber, match.rule.id, match.message
            ),
        )
        for match in matches
    )


# Resource types that hold data: deleting or replacing one loses it (unless CloudFormation is
# told to retain it), and the property changes that make CloudFormation replace each.
STATEFUL_TYPES: dict[str, tuple[str, ...]] = {
    "AWS::DynamoDB::Table": ("TableName", "KeySchema", "LocalSecondaryIndexes"),
    "AWS::DynamoDB::GlobalTable": ("TableName", "KeySchema", "LocalSecondaryIndexes"),
    "AWS::S3::Bucket": ("BucketName",),
    "AWS::KMS::Key": ("KeySpec", "KeyUsage", "MultiRegion", "Origin"),
    "AWS::Logs::LogGroup": ("LogGroupName",),
    "AWS::RDS::DBInstance": ("DBInstanceIdentifier", "Engine", "StorageEncrypted"),
    "AWS::RDS::DBCluster": ("DBClusterIdentifier", "Engine", "StorageEncrypted"),
    "AWS::EFS::FileSystem": ("Encrypted", "PerformanceMode"),
    "AWS::SQS::Queue": ("QueueName", "FifoQueue"),
}


def _resources(body: str) -> dict[str, Any]:
    try:
        parsed = yaml.load(body, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError:
        return {}
    resources = parsed.get("Resources") if isinstance(parsed, dict) else None
    return resources if isinstance(resources, dict) else {}


def _retained(resource: Any, policy: str) -> bool:
    """``DeletionPolicy`` (for a deletion) or ``UpdateReplacePolicy`` (for a replacement)
    Retain keeps the data; a conditional policy (``!If``) might not, so it does not count."""
    return isinstance(resource, dict) and resource.get(policy) in ("Retain", "RetainExceptOnCreate")


def stateful_losses(before: str, after: str) -> list[str]:
    """What a template change would delete or replace among resources that hold data, one
    line each (empty: nothing is lost)."""
    old, new = _resources(before), _resources(after)
    losses = []
    for logical_id, resource in sorted(old.items()):
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type")
        if kind not in STATEFUL_TYPES:
            continue
        replacement = new.get(logical_id)
        if not isinstance(replacement, dict):
            if not _retained(resource, "DeletionPolicy"):
                where = (
                    " where its DeletionPolicy is Delete (it depends on a condition)"
                    if isinstance(resource.get("DeletionPolicy"), dict)
                    else ""
                )
                losses.append(f"deletes {kind} {logical_id}{where} (removed from the template)")
            continue
        if replacement.get("Condition") != resource.get("Condition") and not _retained(
            resource, "DeletionPolicy"
        ):
            # Where the new condition is false, CloudFormation deletes the resource.
            losses.append(
                f"may delete {kind} {logical_id} (its Condition is now "
                f"{replacement.get('Condition') or 'none'})"
            )
            continue
        # Conservative: a replacement keeps the data only if both templates say Retain.
        kept = _retained(resource, "UpdateReplacePolicy") and _retained(
            replacement, "UpdateReplacePolicy"
        )
        if replacement.get("Type") != kind:
            if not kept:
                losses.append(f"replaces {kind} {logical_id} (type now {replacement.get('Type')})")
            continue
        props_old = resource.get("Properties") or {}
        props_new = replacement.get("Properties") or {}
        changed = [p for p in STATEFUL_TYPES[kind] if props_old.get(p) != props_new.get(p)]
        if changed and not kept:
            losses.append(f"replaces {kind} {logical_id} ({', '.join(changed)} changed)")
    return losses
