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
    """Maps a location in the document (keys and list indexes) to its 1-based line."""

    lines: dict[Loc, int] = field(default_factory=dict)

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


def format_loc(loc: Loc) -> str:
    """Render a location like ``ous[0].children[1].name``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


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
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        raise ConfigError([ConfigIssue(name, line, "", f"invalid YAML: {problem}")]) from exc
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
                        format_loc((*loc, key)),
                        "duplicate key",
                    )
                )
            seen.add(key)
            key_loc = (*loc, key)
            lines.lines[key_loc] = key_node.start_mark.line + 1
            _index(value_node, key_loc, lines, issues, name)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index(item, (*loc, index), lines, issues, name)
