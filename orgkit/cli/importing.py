"""``orgkit import``: write org.yaml and the policy files from the live organization."""

from __future__ import annotations

from pathlib import Path

import click

from orgkit.cli.common import Context, out
from orgkit.importer import import_organization
from orgkit.views.import_view import print_import


@click.command("import")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write org.yaml, scps/ and policies/ into (default: the folder of --config).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing org.yaml and the policy files the import writes.",
)
@click.option(
    "--merge",
    is_flag=True,
    help="Add what is live but unmanaged to the existing org.yaml, keeping its comments, "
    "order and formatting; never changes or removes what it declares.",
)
@click.option("--dry-run", is_flag=True, help="Print what would be written; write nothing.")
@click.pass_obj
def import_cmd(ctx: Context, out_dir: Path | None, force: bool, merge: bool, dry_run: bool) -> None:
    """Write org.yaml and policy files from the live organization. Reads AWS, writes no AWS.

    Declares the OUs (nested, with tags), the accounts (adopted by email: never created again;
    name, OU, tags, an environment from the Environment tag or guessed and marked), and every
    customer policy of the types enabled on the root, in scps/ and policies/, with its
    attachments to the root, OUs and accounts; then checks that `orgkit plan` of the result has
    no changes. What org.yaml cannot express is listed, never silently changed. Refuses to
    overwrite org.yaml or a policy file without --force.
    """
    result = import_organization(
        ctx.config, ctx.aws(), out_dir=out_dir, force=force, merge=merge, dry_run=dry_run
    )
    print_import(out(), result)
