"""Test helpers shared by the integration and CLI suites."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from orgkit import workflow
from orgkit.live import AwsContext
from orgkit.plan import Change, PlanOptions
from orgkit.sandbox.server import Sandbox

READ_PREFIXES = ("Describe", "List", "Get", "AssumeRole")


class RecordingReporter:
    """A Reporter that remembers what apply told it."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def change_started(self, change: Change) -> None:
        self.events.append(("started", change.address, ""))

    def change_done(self, change: Change, detail: str) -> None:
        self.events.append(("done", change.address, detail))

    def progress(self, change: Change, message: str) -> None:
        self.events.append(("progress", change.address, message))


def sides(change: Change) -> tuple[dict[str, Any], dict[str, Any]]:
    """A change's ``before`` and ``after`` in their JSON form ({} for a missing side)."""
    data = change.to_dict()
    return data["before"] or {}, data["after"] or {}


def structure_only(data: dict[str, Any]) -> None:
    """Drop from an org.yaml mapping what is read and written per account (roles, budgets, stack
    sets, the security services), for tests about the organization's structure: they run in a
    few seconds."""
    for section in ("stack_sets", "stackset_roles", "budgets", "security"):
        data.pop(section, None)
    for project in data.get("projects", []):
        project.pop("deployment_role", None)


def edit_yaml(path: Path, edit: Any) -> None:
    """Load a YAML file, let ``edit(data)`` change it, write it back."""
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def is_write(operation: str) -> bool:
    """True for AWS operations that change something."""
    return not operation.startswith(READ_PREFIXES)


def replan(config: Path, options: PlanOptions | None = None) -> workflow.Planned:
    """Load org.yaml, read the live organization, plan."""
    return workflow.make_plan(config, AwsContext(), options or PlanOptions())


def converge(config: Path, options: PlanOptions | None = None) -> workflow.Planned:
    """Plan and apply; return what was planned, with the plan made after applying."""
    aws = AwsContext()
    planned = workflow.make_plan(config, aws, options or PlanOptions())
    _, after = workflow.run_apply(planned, aws, RecordingReporter(), options or PlanOptions())
    return workflow.Planned(planned.config, planned.live, after)


def account_ids(box: Sandbox) -> dict[str, str]:
    """Every account of the organization by email, read with raw boto3."""
    pages = box.client("organizations").get_paginator("list_accounts").paginate()
    return {a["Email"]: a["Id"] for page in pages for a in page["Accounts"]}


def converged(config: Path) -> workflow.Planned:
    """Plan and apply, and check that the plan made after applying is empty."""
    planned = converge(config)
    assert planned.plan.empty, planned.plan.to_dict()
    return planned
