"""``orgkit project``: the projects org.yaml declares, and their hand-off to the application."""

from __future__ import annotations

import click

from orgkit.cli.handoff import check_cmd, samconfig_cmd, workflow_cmd


@click.group()
def project() -> None:
    """Onboard and look after a project (a micro-SaaS product and its accounts)."""


# Subcommands are attached below, one module each.
project.add_command(samconfig_cmd)
project.add_command(workflow_cmd)
project.add_command(check_cmd)
