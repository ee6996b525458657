"""`orgkit graph`'s views: a rich tree for the terminal and a Mermaid flowchart for docs and
pull requests, both from one :class:`~orgkit.picture.OrgGraph`."""

from __future__ import annotations

import hashlib
import re
from itertools import groupby

from rich.markup import escape
from rich.tree import Tree

from orgkit.picture import GraphAccount, GraphOU, GraphPolicy, OrgGraph

STATE_WORDS = {
    "missing": "not created yet",
    "creating": "being created",
    "unmanaged": "unmanaged (not in org.yaml)",
    "management": "management account",
}
ATTACHMENT_WORDS = {"missing": "not attached yet", "unmanaged": "unmanaged"}


def money(amount: float | None, currency: str | None) -> str:
    """An amount as people read it: ``500 USD``, ``75.50 USD``; ``-`` when unknown."""
    if amount is None:
        return "-"
    text = f"{amount:,.0f}" if amount == int(amount) else f"{amount:,.2f}"
    return f"{text} {currency}" if currency else text


def _policy_groups(policies: tuple[GraphPolicy, ...]) -> list[tuple[str, list[GraphPolicy]]]:
    """Policies grouped by type label, in the order they come."""
    ordered = sorted(policies, key=lambda p: [q.label for q in policies].index(p.label))
    return [(label, list(items)) for label, items in groupby(ordered, key=lambda p: p.label)]


def _details(account: GraphAccount, currency: str | None) -> list[str]:
    """Environment, project and budget of an account, as far as known."""
    parts = []
    if account.environment:
        parts.append(account.environment)
    if account.project:
        parts.append(f"project {account.project}")
    if account.budget is not None:
        parts.append(f"budget {money(account.budget, currency)}/month")
    return parts


# -- rich tree --------------------------------------------------------------------------------
def _tree_policies(policies: tuple[GraphPolicy, ...]) -> str:
    lines = []
    for label, items in _policy_groups(policies):
        names = []
        for policy in items:
            word = ATTACHMENT_WORDS.get(policy.state)
            if policy.state == "unmanaged":
                names.append(f"[magenta]{escape(policy.name)} ({word})[/]")
            else:
                names.append(escape(policy.name) + (f" [yellow]({word})[/]" if word else ""))
        lines.append(f"[dim]{escape(label)}:[/] {', '.join(names)}")
    return "\n".join(lines)


def _state(state: str) -> str:
    word = STATE_WORDS.get(state)
    if word is None:
        return ""
    colour = {"unmanaged": "magenta", "management": "blue"}.get(state, "yellow")
    return f"  [{colour}]{word}[/]"


def _ou_label(ou: GraphOU, graph: OrgGraph) -> str:
    if ou.path == "/":
        head = f"[bold]{escape(graph.organization)}[/]  [dim]root[/] {escape(ou.id or '')}"
    else:
        head = f"[bold cyan]{escape(ou.name)}/[/]  {escape(ou.id or '')}"
    head = head.rstrip() + _state(ou.state)
    if ou.note:
        head += f"  [yellow]({escape(ou.note)})[/]"
    policies = _tree_policies(ou.policies)
    return f"{head}\n{policies}" if policies else head


def _account_label(account: GraphAccount, currency: str | None) -> str:
    head = f"{escape(account.name)}  {escape(account.email)}"
    if account.id:
        head += f"  {account.id}"
    head += _state(account.state)
    if account.note:
        head += f"  [yellow]({escape(account.note)})[/]"
    lines = [head]
    details = _details(account, currency)
    if details:
        lines.append(f"[dim]{escape(' · '.join(details))}[/]")
    policies = _tree_policies(account.policies)
    if policies:
        lines.append(policies)
    return "\n".join(lines)


def graph_tree(graph: OrgGraph) -> Tree:
    """The organization as a rich tree: root, OUs nested, accounts with email, id, environment,
    project and budget, and the policies attached to each (by type)."""

    def add(parent: Tree, ou: GraphOU) -> None:
        for child in ou.ous:
            add(parent.add(_ou_label(child, graph)), child)
        for account in ou.accounts:
            parent.add(_account_label(account, graph.currency))

    tree = Tree(_ou_label(graph.root, graph))
    add(tree, graph.root)
    return tree


# -- Mermaid ----------------------------------------------------------------------------------
# Characters kept as they are in a label; any other becomes an entity code (#35; for #), so no
# quote, bracket, brace, pipe, semicolon, angle bracket or backtick reaches Mermaid's parser.
_SAFE_LABEL = re.compile(r"[A-Za-z0-9 .,:/@_+=$'!?*~()-]")


def mermaid_text(text: str) -> str:
    """``text`` made safe inside a quoted Mermaid label."""
    return "".join(ch if _SAFE_LABEL.fullmatch(ch) else f"#{ord(ch)};" for ch in text)


def _label(lines: list[str]) -> str:
    return '"' + "<br/>".join(mermaid_text(line) for line in lines if line) + '"'


class _Ids:
    """Stable node ids: from an OU's path or an account's email (never from the order
    drawn), with a digest suffix when two keys would make the same id."""

    def __init__(self) -> None:
        self.taken: dict[str, str] = {}

    def __call__(self, prefix: str, key: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_") or "x"
        node = f"{prefix}_{slug}"
        if self.taken.get(node, key) != key:
            node = f"{node}_{hashlib.sha256(key.encode()).hexdigest()[:8]}"
        self.taken[node] = key
        return node


MERMAID_LINE = 60  # characters: a long list of policies wraps, so boxes stay readable


def _mermaid_policies(policies: tuple[GraphPolicy, ...]) -> list[str]:
    lines = []
    for label, items in _policy_groups(policies):
        line = f"{label}:"
        for index, policy in enumerate(items):
            word = ATTACHMENT_WORDS.get(policy.state)
            name = f"{policy.name} ({word})" if word else policy.name
            name += "," if index < len(items) - 1 else ""
            if len(line) + 1 + len(name) > MERMAID_LINE and line.endswith(","):
                lines.append(line)
                line = f"  {name}"
            else:
                line = f"{line} {name}"
        lines.append(line)
    return lines


def graph_mermaid(graph: OrgGraph) -> str:
    """A Mermaid ``flowchart`` of the organization (GitHub renders it in a ```mermaid block).
    Node ids come from OU paths and account emails, so the text changes only where the
    organization does. Unmanaged nodes are dashed, nodes not created yet are grey."""
    ids = _Ids()
    nodes: list[str] = []
    edges: list[str] = []
    classes: dict[str, list[str]] = {}

    def node(node_id: str, opening: str, closing: str, lines: list[str], state: str) -> None:
        nodes.append(f"    {node_id}{opening}{_label(lines)}{closing}")
        if state in ("unmanaged", "missing", "creating", "management"):
            classes.setdefault(state, []).append(node_id)

    def ou_lines(ou: GraphOU) -> list[str]:
        if ou.path == "/":
            head = [graph.organization, f"root {ou.id}" if ou.id else "root"]
        else:
            head = [f"{ou.name}/", ou.id or ""]
        word = STATE_WORDS.get(ou.state, "")
        return [*head, word, ou.note, *_mermaid_policies(ou.policies)]

    def walk(ou: GraphOU, ou_id: str) -> None:
        for child in ou.ous:
            child_id = ids("OU", child.path)
            node(child_id, "[", "]", ou_lines(child), child.state)
            edges.append(f"    {ou_id} --> {child_id}")
            walk(child, child_id)
        for account in ou.accounts:
            account_id = ids("Acct", account.email)
            lines = [
                account.name,
                account.email,
                account.id or "",
                STATE_WORDS.get(account.state, ""),
                account.note,
                " - ".join(_details(account, graph.currency)),
                *_mermaid_policies(account.policies),
            ]
            node(account_id, "(", ")", lines, account.state)
            edges.append(f"    {ou_id} --> {account_id}")

    node("Root", "[", "]", ou_lines(graph.root), graph.root.state)
    walk(graph.root, "Root")
    styles = {
        "unmanaged": "stroke-dasharray: 5 5,stroke:#a0a",
        "missing": "stroke-dasharray: 5 5,color:#777",
        "creating": "stroke-dasharray: 5 5,color:#777",
        "management": "stroke-width:3px",
    }
    out = ["flowchart LR", *nodes, *edges]
    for state, members in classes.items():
        out.append(f"    classDef {state} {styles[state]}")
        out.append(f"    class {','.join(members)} {state}")
    return "\n".join(out) + "\n"
