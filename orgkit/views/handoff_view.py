"""Show ``orgkit project check``'s report: per environment, each checklist item and why."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from orgkit.live.project_checks import CheckReport

MARKS = {
    "pass": "[green]✓ pass[/]",
    "fail": "[red]✗ fail[/]",
    "cannot-check": "[yellow]? cannot-check[/]",
}


def print_check(console: Console, report: CheckReport) -> None:
    """Environments in order; under each, its items with their evidence and, for what fails,
    how to fix it; then the summary."""
    console.print(
        f"[bold]Pre-production check of {escape(report.project)}[/] "
        f"[dim](against {escape(report.endpoint)})[/]"
    )
    environment = None
    for result in report.results:
        if result.environment != environment:
            environment = result.environment
            console.print(f"\n[bold]{escape(environment)}[/]")
        console.print(f"  {MARKS[result.status]}  {escape(result.title)}  [dim]{result.item}[/]")
        for line in result.evidence:
            console.print(f"      {escape(line)}")
        if result.fix and result.status != "pass":
            console.print(f"      [dim]to do: {escape(result.fix)}[/]")
    summary = report.summary()
    console.print(
        f"\n{summary['pass']} pass, {summary['fail']} fail, "
        f"{summary['cannot-check']} cannot be checked."
    )
    if summary["cannot-check"]:
        console.print(
            "[dim]cannot-check: AWS holds no evidence of the item, or the read was refused "
            "(the evidence says which); it does not fail the check.[/]"
        )
