"""Read a YAML file keeping the line of every key and item, so errors can point at them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orgkit.errors import ConfigError, ConfigIssue

Loc = tuple[Any, ...]


@dataclass
class LineMap:
    """Maps a location in the document (keys and list indexes) to its 1-based line, and list
    items that have a ``name`` to it, so messages say ``accounts["Audit"]``, not
    ``accounts[1]``."""

    lines: dict[Loc, int] = field(default_factory=dict)
    names: dict[Loc, str] = field(default_factory=dict)

    def line(self, loc: Loc) -> int | None:
        """The line of ``loc`` or of its nearest ancestor that has one."""
        loc = tuple(loc)
        while True:
            if loc in self.lines:
                return self.lines[loc]
            if not loc:
                return None
            loc = loc[:-1]


@dataclass(frozen=True)
class YamlSource:
    """A parsed YAML document with its file name and line map."""

    path: Path
    data: Any
    lines: LineMap


def format_loc(loc: Loc, lines: LineMap | None = None) -> str:
    """Render a location like ``ous["Production"].children[1].name``: a list item by its
    ``name`` where it has one (``lines`` knows them), else by its index."""
    out = ""
    for depth, part in enumerate(loc):
        if isinstance(part, int):
            name = lines.names.get(tuple(loc[: depth + 1])) if lines else None
            out += f'["{name}"]' if name is not None else f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# PyYAML's problems in plain words: (its problem, its context or "", where the problem starts:
# "start" where the construct began (an unclosed bracket or quote) or "here" where PyYAML
# stopped (a bad indentation), what to say; {start} and {here} are line numbers).
_PLAIN_YAML = (
    ("expected ',' or ']'", "flow sequence", "start", "a list opened with '[' is not closed"),
    ("expected ',' or '}'", "flow mapping", "start", "a mapping opened with '{' is not closed"),
    ("found unexpected end of stream", "quoted scalar", "start", "a quote is never closed"),
    (
        "mapping values are not allowed here",
        "",
        "here",
        "a ': ' where a value was expected: quote a value that contains ': ', or check this "
        "line's indentation",
    ),
    ("found character '\\t'", "", "here", "a tab: YAML indents with spaces only"),
    (
        "expected <block end>",
        "block mapping",
        "here",
        "this line is indented differently from the keys of the mapping that starts on line "
        "{start}",
    ),
    (
        "expected <block end>",
        "block collection",
        "here",
        "this line is indented differently from the list that starts on line {start}",
    ),
    ("could not find expected ':'", "", "start", "a key without ':' (or a line cut in two)"),
    ("found undefined alias", "", "here", "an alias (*name) with no anchor (&name) before it"),
)


def plain_yaml_error(exc: yaml.MarkedYAMLError) -> tuple[int | None, str]:
    """The line where the problem starts and a plain sentence for a YAML syntax error, with
    PyYAML's own words after it."""
    problem = exc.problem or str(exc)
    here = exc.problem_mark.line + 1 if exc.problem_mark else None
    start = exc.context_mark.line + 1 if exc.context_mark else here
    for pattern, context, at, plain in _PLAIN_YAML:
        if pattern in problem and context in (exc.context or ""):
            line = start if at == "start" else here
            return line, f"invalid YAML: {plain.format(start=start, here=here)} (YAML: {problem})"
    return (here or start), f"invalid YAML: {problem}"


def read_yaml(path: Path, display: str | None = None) -> YamlSource:
    """Parse ``path``; a syntax error or duplicate key is a :class:`ConfigError`."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError([ConfigIssue(name, None, "", "file not found")]) from exc
    except OSError as exc:
        raise ConfigError([ConfigIssue(name, None, "", f"cannot read: {exc}")]) from exc
    except UnicodeDecodeError as exc:
        at = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [ConfigIssue(name, at, "", f"not UTF-8 text (byte {exc.object[exc.start]:#04x})")]
        ) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError([ConfigIssue(name, 1, "", "the file is empty")])
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        line, message = plain_yaml_error(exc)
        raise ConfigError([ConfigIssue(name, line, "", message)]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(name, None, "", f"invalid YAML: {exc}")]) from exc
    finally:
        loader.dispose()
    lines = LineMap()
    issues: list[ConfigIssue] = []
    _index(node, (), lines, issues, name)
    if issues:
        raise ConfigError(issues)
    return YamlSource(path=path, data=data, lines=lines)


def _index(node: yaml.Node, loc: Loc, lines: LineMap, issues: list[ConfigIssue], name: str) -> None:
    lines.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                issues.append(
                    ConfigIssue(
                        name,
                        key_node.start_mark.line + 1,
                        format_loc((*loc, key), lines),
                        "duplicate key",
                    )
                )
            seen.add(key)
            key_loc = (*loc, key)
            lines.lines[key_loc] = key_node.start_mark.line + 1
            _index(value_node, key_loc, lines, issues, name)
    elif isinstance(node, yaml.SequenceNode):
        names = {
            index: str(value_node.value)
            for index, item in enumerate(node.value)
            if isinstance(item, yaml.MappingNode)
            for key_node, value_node in item.value
            if key_node.value == "name" and isinstance(value_node, yaml.ScalarNode)
        }
        for index, item_name in names.items():
            if list(names.values()).count(item_name) == 1:  # twins keep their index
                lines.names[loc + (index,)] = item_name
        for index, item in enumerate(node.value):
            _index(item, (*loc, index), lines, issues, name)
