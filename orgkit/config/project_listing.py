"""What ``orgkit project list`` shows: each declared project and its accounts, with the ids the
live organization gave them. A pure function of org.yaml and those ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orgkit.config.models import OrgSpec


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


def _budget(own: float | None, default: float | None) -> tuple[float | None, str | None]:
    if own is not None:
        return own, "own"
    return default, "default" if default is not None else None


def summarize_projects(spec: OrgSpec, live: dict[str, tuple[str, str]] | None) -> ProjectListing:
    """Each declared project with its accounts, environments, OUs and budgets; ``live`` maps
    an account's email (lowercase) to its (id, status), None when the organization was not
    read."""
    found_ids = live or {}
    amounts = spec.budgets.amounts if spec.budgets is not None else {}
    projects = []
    for project in spec.projects:
        rows = []
        for account in spec.accounts:
            if account.project != project.name:
                continue
            found = found_ids.get(account.email.lower())
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
                    account_id=found[0] if found else None,
                    status=found[1] if found else None,
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
    return ProjectListing(projects=tuple(projects), live=live is not None)
