"""Show what ``orgkit import`` wrote (or would write), what it guessed and what it left out."""

from __future__ import annotations

import difflib

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from orgkit.importer import ImportResult, Note

NOTE_HEADINGS = {
    "skipped": "Not declared (live, left unmanaged: plan lists them and leaves them alone)",
    "guessed": "Guessed (check before committing)",
    "left out": "Not expressible in org.yaml (left as they are)",
}


def print_import(console: Console, result: ImportResult) -> None:
    """The files, then the notes grouped by kind, then the check of the plan."""
    verb = {
        "create": "would create" if result.dry_run else "created",
        "overwrite": "would overwrite" if result.dry_run else "overwrote",
        "update": "would update" if result.dry_run else "updated",
    }
    for file in result.files:
        console.print(f"[green]✓[/] {verb[file.action]} {escape(str(file.path))}")
        if not result.dry_run:
            continue
        if file.before is not None:
            diff = difflib.unified_diff(
                file.before.splitlines(keepends=True),
                file.text.splitlines(keepends=True),
                str(file.path),
                f"{file.path} (merged)",
            )
            console.print(Text("".join(diff)), soft_wrap=True)
        elif file.path.name == "org.schema.json":  # 1,000 lines `orgkit schema` prints anyway
            console.print(Text("  (the JSON schema of org.yaml, as `orgkit schema` prints it)"))
        else:
            console.print(Text(file.text), soft_wrap=True)
    counts = result.counts
    what = "would declare" if result.dry_run else "declared"
    console.print(
        f"\n[bold]{'Merge' if result.merge else 'Import'} of {result.organization_id}:[/] "
        f"{what} {counts['ous']} OU(s), {counts['accounts']} account(s), "
        f"{counts['policies']} policy(ies) and {counts['attachments']} attachment(s)."
    )
    for kind, heading in NOTE_HEADINGS.items():
        notes = [n for n in result.notes if n.kind == kind]
        if notes:
            console.print(Text(f"\n{heading}:", style="bold"))
            for note in notes:
                console.print(_note(note), soft_wrap=True)
    console.print()
    if not result.remaining:
        console.print(
            "[bold green]Checked:[/] a plan of the result against what was read has no changes."
        )
    else:
        what = (
            "in what org.yaml already declared"
            if result.merge
            else "(an import should leave none: please report it)"
        )
        console.print(
            f"[bold yellow]Checked:[/] a plan would still make {len(result.remaining)} "
            f"change(s) {what}:"
        )
        for change in result.remaining:
            console.print(f"  {change.action.symbol} {escape(change.address)}")
    if not result.dry_run:
        console.print(f"Next: review {escape(str(result.config_path))}, run `orgkit plan`, commit.")


def _note(note: Note) -> str:
    return f"  {escape(note.address)}: {escape(note.message)}"
