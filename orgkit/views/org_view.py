"""Show a live organization as a tree of OUs, accounts and attached policies (of every type)."""

from __future__ import annotations

from rich.markup import escape
from rich.tree import Tree

from orgkit.live.model import LiveOrg


def org_tree(live: LiveOrg, title: str) -> Tree:
    """A rich tree: root, OUs nested, accounts under their parent, attached policies in
    brackets."""
    attached: dict[str, list[str]] = {}
    for policy in live.policies:
        for target in policy.targets:
            attached.setdefault(target, []).append(policy.name)

    def label(name: str, target_id: str, style: str) -> str:
        names = sorted(attached.get(target_id, []))
        suffix = f"  [dim]\\[{escape(', '.join(names))}][/]" if names else ""
        text = escape(name)
        return f"[{style}]{text}[/]{suffix}" if style else f"{text}{suffix}"

    tree = Tree(label(f"{title} (root {live.root_id})", live.root_id, "bold"))
    nodes = {live.root_id: tree}
    for ou in sorted(live.ous, key=lambda o: o.path):
        parent = nodes[ou.parent_id]
        nodes[ou.id] = parent.add(label(f"{ou.name}/", ou.id, "bold cyan"))
    for account in sorted(live.accounts, key=lambda a: a.name):
        role = " (management)" if account.id == live.management_account_id else ""
        nodes[account.parent_id].add(
            label(f"{account.name}  {account.id}  {account.email}{role}", account.id, "")
        )
    return tree
