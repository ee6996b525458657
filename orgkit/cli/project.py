"""``orgkit project``: the projects org.yaml declares, and their hand-off to the application."""

from __future__ import annotations

import click


@click.group()
def project() -> None:
    """Onboard and look after a project (a micro-SaaS product and its accounts)."""


# Subcommands are attached below, one module each.
