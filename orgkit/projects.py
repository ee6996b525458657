"""The services of ``orgkit project add`` and ``orgkit project list``: no printing of their own.

``add`` edits org.yaml (orgkit/config/project_edit.py does the edit) and touches no AWS; ``list``
reads org.yaml and, unless offline, the organization's structure (OUs and accounts) for ids.
"""

from __future__ import annotations

from pathlib import Path

from orgkit.config import Config, load_config
from orgkit.config.project_edit import ProjectEdit, ProjectRequest, edit_project_add
from orgkit.config.project_listing import ProjectListing, summarize_projects
from orgkit.kinds import REGISTRY
from orgkit.kinds.base import ReadContext
from orgkit.live import AwsContext


def add_project(config_path: str | Path, request: ProjectRequest, *, dry_run: bool) -> ProjectEdit:
    """``orgkit project add``: load and validate org.yaml, add the project's entries in place,
    check the result loads and validates, and write it (not with ``dry_run``)."""
    path = Path(config_path)
    config = load_config(path)
    return edit_project_add(
        path, config.spec, request, lambda edited: load_config(edited).spec, write=not dry_run
    )


def read_accounts(config: Config, aws: AwsContext) -> dict[str, tuple[str, str]]:
    """The organization's accounts as email (lowercase) → (id, status): its structure only
    (OUs, accounts), after checking the caller is the management account."""
    from orgkit.workflow import read_organization_as_manager

    ctx = ReadContext(aws, config)
    live = read_organization_as_manager(config, aws)
    for kind in ("ou", "account"):
        live = REGISTRY[kind].read(ctx, live)
    return {email: (a.id, a.status) for email, a in live.account_by_email.items()}


def list_projects(config_path: str | Path, aws: AwsContext | None) -> ProjectListing:
    """``orgkit project list``: each declared project with its accounts, environments, OUs,
    budgets, and (with ``aws``) their ids."""
    config = load_config(config_path)
    live = read_accounts(config, aws) if aws is not None else None
    return summarize_projects(config.spec, live)
