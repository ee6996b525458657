"""The services of ``orgkit project add`` and ``orgkit project list``: no printing of their own.

``add`` edits org.yaml (orgkit/config/project_edit.py does the edit) and touches no AWS; ``list``
reads org.yaml and, unless offline, the organization's structure (OUs and accounts) for ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orgkit.config import Config, load_config
from orgkit.config.project_edit import ProjectEdit, ProjectRequest, edit_project_add
from orgkit.kinds import REGISTRY
from orgkit.kinds.base import ReadContext
from orgkit.live import AwsContext, LiveAccount


def add_project(config_path: str | Path, request: ProjectRequest, *, dry_run: bool) -> ProjectEdit:
    """``orgkit project add``: load and validate org.yaml, add the project's entries in place,
    check the result loads and validates, and write it (not with ``dry_run``)."""
    path = Path(config_path)
    config = load_config(path)
    return edit_project_add(
        path, config.spec, request, lambda edited: load_config(edited).spec, write=not dry_run
    )


@dataclass(frozen=True)
class ProjectAccount:
    """One declared account of a project, with its id when the organization was read."""

    name: str
    email: str
    environment: str
    ou: str
    state: str
    budget: float | None
    budget_source: str | None  # "own" (the account's budget:), "default" (its environment's)
    account_id: str | None  # None: not created yet, or not read (offline)
    status: str | None  # AWS's status (ACTIVE, SUSPENDED, ...) when read

    def to_dict(self) -> dict[str, Any]:
        """The ``project list --json`` form."""
        return {
            "name": self.name,
            "email": self.email,
            "environment": self.environment,
            "ou": self.ou,
            "state": self.state,
            "budget": self.budget,
            "budget_source": self.budget_source,
            "id": self.account_id,
            "status": self.status,
        }


@dataclass(frozen=True)
class ProjectSummary:
    """A declared project and its accounts."""

    name: str
    display_name: str | None
    deployment_role: str | None
    github_repository: str | None
    accounts: tuple[ProjectAccount, ...]

    def to_dict(self) -> dict[str, Any]:
        """The ``project list --json`` form."""
        return {
            "name": self.name,
            "display_name": self.display_name,
            "deployment_role": self.deployment_role,
            "github_repository": self.github_repository,
            "accounts": [a.to_dict() for a in self.accounts],
        }


@dataclass(frozen=True)
class ProjectListing:
    """Every declared project; ``live`` tells whether account ids were read."""

    projects: tuple[ProjectSummary, ...]
    live: bool

    def to_dict(self) -> dict[str, Any]:
        """The ``project list --json`` document."""
        return {"live": self.live, "projects": [p.to_dict() for p in self.projects]}


def read_accounts(config: Config, aws: AwsContext) -> dict[str, LiveAccount]:
    """The organization's accounts by email (lowercase): its structure only (OUs, accounts),
    after checking the caller is the management account."""
    from orgkit.workflow import read_organization_as_manager

    ctx = ReadContext(aws, config)
    live = read_organization_as_manager(config, aws)
    for kind in ("ou", "account"):
        live = REGISTRY[kind].read(ctx, live)
    return live.account_by_email


def _budget(own: float | None, default: float | None) -> tuple[float | None, str | None]:
    if own is not None:
        return own, "own"
    return default, "default" if default is not None else None


def list_projects(config_path: str | Path, aws: AwsContext | None) -> ProjectListing:
    """``orgkit project list``: each declared project with its accounts, environments, OUs,
    budgets, and (with ``aws``) their ids."""
    config = load_config(config_path)
    spec = config.spec
    live = read_accounts(config, aws) if aws is not None else {}
    amounts = spec.budgets.amounts if spec.budgets is not None else {}
    projects = []
    for project in spec.projects:
        rows = []
        for account in spec.accounts:
            if account.project != project.name:
                continue
            found = live.get(account.email.lower())
            budget, source = _budget(account.budget, amounts.get(account.environment))
            rows.append(
                ProjectAccount(
                    name=account.name,
                    email=account.email,
                    environment=account.environment.value,
                    ou=account.ou,
                    state=account.state,
                    budget=budget if spec.budgets is not None else None,
                    budget_source=source if spec.budgets is not None else None,
                    account_id=found.id if found else None,
                    status=found.status if found else None,
                )
            )
        role = project.deployment_role
        github = role.trust.github if role is not None else None
        projects.append(
            ProjectSummary(
                name=project.name,
                display_name=project.display_name,
                deployment_role=role.name if role is not None else None,
                github_repository=github.repository if github is not None else None,
                accounts=tuple(rows),
            )
        )
    return ProjectListing(projects=tuple(projects), live=aws is not None)
