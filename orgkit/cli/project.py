"""``orgkit project``: the projects org.yaml declares, and their hand-off to the application."""

from __future__ import annotations

import click


@click.group()
def project() -> None:
    """Onboard and look after a project (a micro-SaaS product and its accounts)."""


# Subcommands are attached below, one module each.
from orgkit.cli.project_add import add  # noqa: E402
from orgkit.cli.project_list import list_cmd  # noqa: E402

project.add_command(add)
project.add_command(list_cmd)
