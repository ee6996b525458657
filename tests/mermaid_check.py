"""A strict check of the Mermaid flowcharts orgkit prints: every line is a header, a node, an
edge or a class line; every node id is defined once; every edge's ends are defined; every
label is quoted and carries no character Mermaid's parser would read as syntax."""

from __future__ import annotations

import re

ID = r"[A-Za-z][A-Za-z0-9_]*"
NODE = re.compile(rf'^    ({ID})(\[|\()"([^"]*)"(\]|\))$')
EDGE = re.compile(rf"^    ({ID}) --> ({ID})$")
CLASS_DEF = re.compile(r"^    classDef ([a-z]+) [^;]+$")
CLASS = re.compile(rf"^    class ({ID}(?:,{ID})*) ([a-z]+)$")
# What a label may hold: safe characters, entity codes (#35;), and <br/> line breaks.
LABEL = re.compile(r"^(?:[A-Za-z0-9 .,:/@_+=$'!?*~()-]|#\d+;|<br/>)*$")
PAIRS = {"[": "]", "(": ")"}


def mermaid_problems(text: str) -> list[str]:
    """Everything wrong with ``text`` as one of orgkit's flowcharts (empty: it is sound)."""
    lines = text.splitlines()
    problems = []
    if not lines or lines[0] not in ("flowchart LR", "flowchart TD"):
        problems.append("the first line is not a flowchart header")
    nodes: dict[str, int] = {}
    edges: list[tuple[str, str]] = []
    defined_classes: set[str] = set()
    used_classes: list[tuple[str, list[str]]] = []
    for number, line in enumerate(lines[1:], start=2):
        if match := NODE.match(line):
            node_id, opening, label, closing = match.groups()
            nodes[node_id] = nodes.get(node_id, 0) + 1
            if PAIRS[opening] != closing:
                problems.append(f"line {number}: {opening} closed by {closing}")
            if not LABEL.match(label):
                problems.append(f"line {number}: unescaped character in label {label!r}")
        elif match := EDGE.match(line):
            edges.append((match.group(1), match.group(2)))
        elif match := CLASS_DEF.match(line):
            defined_classes.add(match.group(1))
        elif match := CLASS.match(line):
            used_classes.append((match.group(2), match.group(1).split(",")))
        else:
            problems.append(f"line {number}: not a node, edge or class line: {line!r}")
    problems += [f"node {n} defined {count} times" for n, count in nodes.items() if count > 1]
    for start, end in edges:
        problems += [
            f"edge {start} --> {end}: {n} undefined" for n in (start, end) if n not in nodes
        ]
    for name, members in used_classes:
        if name not in defined_classes:
            problems.append(f"class {name} used before classDef")
        problems += [f"class {name}: node {m} undefined" for m in members if m not in nodes]
    return problems
