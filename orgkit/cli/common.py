"""What every command shares: global options, consoles, the one error handler, progress."""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from orgkit.changes import Action, Change
from orgkit.errors import ConfigError, OrgkitError
from orgkit.live import AwsContext

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


@dataclass
class Context:
    """Global options, shared by every command."""

    config: Path
    profile: str | None
    region: str | None

    def aws(self) -> AwsContext:
        """An AWS context from the standard credential chain."""
        return AwsContext(profile=self.profile, region=self.region)


# Without a terminal (CI logs, a pipe) rich would cut tables and trees at 80 columns; COLUMNS
# still decides when set. Colour follows rich's rules (NO_COLOR, FORCE_COLOR, a terminal).
UNCUT_WIDTH = 200


def _width(stream: Any) -> int | None:
    if os.environ.get("COLUMNS") or (hasattr(stream, "isatty") and stream.isatty()):
        return None
    return UNCUT_WIDTH


def out() -> Console:
    """Where views go (stdout)."""
    # soft_wrap: long addresses stay on one line in logs
    return Console(highlight=False, emoji=False, soft_wrap=True, width=_width(sys.stdout))


def err() -> Console:
    """Where errors, warnings and questions go (stderr), so --json stdout stays clean."""
    return Console(
        stderr=True, highlight=False, emoji=False, soft_wrap=True, width=_width(sys.stderr)
    )


_quiet = False


def set_quiet(quiet: bool) -> None:
    """--quiet: progress and notices are not printed (results, warnings and errors are)."""
    global _quiet
    _quiet = quiet


def info() -> Console:
    """Where progress and notices go (stderr); silent with --quiet."""
    return Console(
        stderr=True,
        highlight=False,
        emoji=False,
        soft_wrap=True,
        width=_width(sys.stderr),
        quiet=_quiet,
    )


class Spinner:
    """Progress of a long read or lint as one spinner line on a terminal, replaced by each
    message and gone when stopped. Without a terminal (CI logs) or with --quiet: nothing, the
    result follows soon enough. Stop it before printing anything else or asking."""

    def __init__(self) -> None:
        self._console = info()
        self._status: Any = None

    def __call__(self, message: str) -> None:
        if _quiet or not self._console.is_terminal:
            return
        text = f"[dim]{escape(message)}…[/]"
        if self._status is None:
            self._status = self._console.status(text)
            self._status.start()
        else:
            self._status.update(text)

    def stop(self) -> None:
        """Remove the spinner line (it starts again on the next message)."""
        if self._status is not None:
            self._status.stop()
            self._status = None

    def __enter__(self) -> Spinner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def say_connection_retries() -> None:
    """Tell the user, on stderr, when an AWS endpoint does not answer and calls are retried."""
    from orgkit.live.session import on_connection_retry

    on_connection_retry(lambda message: err().print(f"[yellow]{escape(message)}[/]"))


def _aws_exceptions() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    return (BotoCoreError, ClientError, ResponseParserError)


def check_writable(path: Path) -> None:
    """Refuse an output file that cannot be written, before any work is done for it."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OrgkitError(f"{path} is a folder", hint="Name a file to write the plan to.")
    if not folder.is_dir():
        raise OrgkitError(
            f"cannot write {path}: the folder {folder} does not exist",
            hint="Create the folder first, or choose another path.",
        )
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OrgkitError(
            f"cannot write {path}: permission denied", hint="Choose a path you can write."
        )


class OrgkitGroup(click.Group):
    """Prints OrgkitError as message + hint and exits 1; usage errors exit 1 as well."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.ClickException as exc:
            exc.show()
            code = EXIT_ERROR
        except (click.exceptions.Abort, KeyboardInterrupt):
            # click turns Ctrl-C into Abort; either way the user stopped us mid-way.
            err().print(
                "[red]Interrupted.[/] What was done stays done: run `orgkit plan` to see where "
                "things stand, then apply again."
            )
            code = EXIT_ERROR
        except ConfigError as exc:
            console = err()
            console.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
            console.print(f"[dim]hint: {exc.hint}[/]", soft_wrap=True)
            code = EXIT_ERROR
        except OrgkitError as exc:
            console = err()
            console.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
            if exc.hint:
                console.print(f"[dim]hint: {escape(exc.hint)}[/]", soft_wrap=True)
            code = EXIT_ERROR
        except Exception as exc:
            if isinstance(exc, _aws_exceptions()):
                console = err()
                from orgkit.live.session import CONNECTION_ERRORS, endpoint_hint

                console.print(f"[bold red]error:[/] AWS: {escape(str(exc))}", soft_wrap=True)
                hint = (
                    endpoint_hint()
                    if isinstance(exc, CONNECTION_ERRORS)
                    else "check the credentials, the region and AWS_ENDPOINT_URL; if this was "
                    "apply, plan again to see what was done."
                )
                console.print(f"[dim]hint: {escape(hint)}[/]", soft_wrap=True)
            else:  # a bug: show everything
                traceback.print_exc()
                err().print(
                    "[bold red]This is a bug in orgkit; please report it with the "
                    "traceback above.[/]"
                )
            code = EXIT_ERROR
        sys.exit(code if isinstance(code, int) else EXIT_OK)


class ConsoleReporter:
    """Apply's progress on a console."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def change_started(self, change: Change) -> None:
        """Long changes (account creations) say when they start."""
        if change.kind == "account" and change.action is Action.CREATE:
            self.console.print(f"  [dim]… {change.action.symbol} {escape(change.address)}[/]")

    def change_done(self, change: Change, detail: str) -> None:
        """One line a change."""
        self.console.print(
            f"  [green]✓[/] {change.action.symbol} {escape(change.address)}  "
            f"[dim]{escape(detail)}[/]"
        )

    def progress(self, change: Change, message: str) -> None:
        """What a long change is waiting for."""
        self.console.print(f"    [dim]{escape(change.address)}: {escape(message)}[/]")
