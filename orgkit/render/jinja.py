"""The one jinja2 environment orgkit renders with: sandboxed, strict, and with file/line on every
error.

SCP files and templates are data, not code: they render in jinja2's immutable sandbox, so an
expression cannot reach Python internals (``''.__class__.__mro__``), call methods that change
values, or run anything, and undefined names are errors. Templates load only from the folder of
org.yaml (jinja2's loader refuses ``..`` and absolute names).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox

from orgkit.errors import ConfigIssue


class ConfinedLoader(jinja2.FileSystemLoader):
    """Loads templates (and what they include or import) from ``base_dir`` only: a name whose
    real path, symlinks resolved, is outside the folder is not found."""

    def __init__(self, base_dir: Path) -> None:
        super().__init__(str(base_dir))
        self.base = base_dir.resolve()

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if not _inside(Path(filename).resolve(), self.base):
            raise jinja2.TemplateNotFound(f"{template} (outside the folder of org.yaml)")
        return source, filename, uptodate


def _inside(path: Path, base: Path) -> bool:
    try:
        path.relative_to(base)
    except ValueError:
        return False
    return True


def environment(base_dir: Path) -> jinja2.Environment:
    """A sandboxed, strict environment loading templates from ``base_dir`` and nowhere else."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        loader=ConfinedLoader(base_dir),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # renders JSON and YAML, never HTML
    )
    # json.dumps never stringifies its input, so without this `{{ missing | tojson }}` escapes
    # StrictUndefined as a bare TypeError instead of an UndefinedError with a line.
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "default": _json_default}
    return env


def _json_default(value: object) -> object:
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def render_file(
    env: jinja2.Environment, relative: str, context: dict[str, Any], display: str
) -> tuple[str | None, ConfigIssue | None]:
    """Render one template; return its text, or the issue that stopped it."""
    try:
        template = env.get_template(relative)
        return template.render(**context), None
    except jinja2.TemplateSyntaxError as exc:
        return None, ConfigIssue(display, exc.lineno, "", f"template syntax: {exc.message}")
    except jinja2.TemplateNotFound as exc:
        if exc.name == relative:
            return None, ConfigIssue(display, None, "", "file not found")
        return None, ConfigIssue(
            display, _template_line(exc, env, relative), "", f"cannot include {exc.message}"
        )
    except jinja2.sandbox.SecurityError as exc:
        return None, ConfigIssue(
            display,
            _template_line(exc, env, relative),
            "",
            f"template expression not allowed: {exc}",
        )
    except UnicodeDecodeError as exc:  # the file (or one it includes) is not UTF-8
        byte = exc.object[exc.start]
        return None, ConfigIssue(display, None, "", f"not UTF-8 text (byte {byte:#04x})")
    except jinja2.UndefinedError as exc:
        return None, ConfigIssue(display, _template_line(exc, env, relative), "", str(exc))
    except jinja2.TemplateError as exc:
        return None, ConfigIssue(display, _template_line(exc, env, relative), "", str(exc))
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError) as exc:
        # An expression in the template failed while rendering ({{ 'x' + 1 }}, {{ 1 / 0 }}).
        return None, ConfigIssue(
            display,
            _template_line(exc, env, relative),
            "",
            f"template expression failed: {type(exc).__name__}: {exc}",
        )


def _template_line(exc: BaseException, env: jinja2.Environment, relative: str) -> int | None:
    """The template line an error was raised at, from jinja2's rewritten traceback."""
    loader = env.loader
    if not isinstance(loader, jinja2.FileSystemLoader):
        return None
    wanted = {str(Path(base) / relative) for base in loader.searchpath}
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename in wanted:
            line = frame.lineno
    return line
