"""``orgkit project``: the projects org.yaml declares, and their hand-off to the application."""

from __future__ import annotations

import click

from orgkit.cli.handoff import check_cmd, samconfig_cmd, workflow_cmd
from orgkit.cli.project_add import add
from orgkit.cli.project_list import list_cmd


@click.group()
def project() -> None:
    """Onboard and look after a project (a micro-SaaS product and its accounts)."""


for _command in (add, list_cmd, samconfig_cmd, workflow_cmd, check_cmd):
    project.add_command(_command)
