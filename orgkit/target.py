"""What ``--target`` names: accounts (by name, email or id), OUs (by path, their sub-OUs included)
or projects (their accounts); and which accounts it holds, for the reads made per account.

The reads made per account (tags, roles, budget notifications) are made only for the accounts
in the target (:class:`AccountFilter`); the structure (OU tree, every account's name, email and
parent) and the policies are read whole: they are cheap, and without them a targeted plan could
create an account that already exists elsewhere. What a targeted plan keeps is
:mod:`orgkit.plan.target`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orgkit.config.models import OrgSpec
from orgkit.errors import OrgkitError, did_you_mean
from orgkit.names import ROOT_PATH

PREFIXES = ("account", "ou", "project")
HINT = (
    "A target is account:NAME|EMAIL|ID, ou:/PATH or project:NAME, e.g. "
    "--target project:themisguard --target ou:/Sandbox."
)


def under(path: str, ou: str) -> bool:
    """Whether ``path`` is ``ou`` or below it (everything is below the root)."""
    return ou == ROOT_PATH or path == ou or path.startswith(ou + "/")


@dataclass(frozen=True)
class Target:
    """What ``--target`` named: account selectors (name, email or id), OU paths, project names.
    Empty: the whole organization."""

    accounts: tuple[str, ...] = ()
    ous: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    # Drift's --account/--ou filters read as a target: errors then name those options.
    filters: bool = field(default=False, compare=False)

    @classmethod
    def parse(cls, values: Iterable[str], option: str = "--target") -> Target:
        """``account:X``, ``ou:/P``, ``project:N`` (a bare ``/P`` is an OU; prefixes in any
        case; a target given twice counts once)."""
        found: dict[str, list[str]] = {prefix: [] for prefix in PREFIXES}
        for value in values:
            prefix, sep, name = value.partition(":")
            prefix, name = prefix.strip().lower(), name.strip()
            if not sep and value.startswith("/"):
                prefix, name = "ou", value.strip()
            elif prefix not in PREFIXES:
                raise OrgkitError(
                    f"{option} {value}: not a target" + did_you_mean(prefix, PREFIXES), hint=HINT
                )
            elif not name:
                raise OrgkitError(f"{option} {value}: a name is missing after {prefix}:", hint=HINT)
            if prefix == "ou":
                if not name.startswith("/"):
                    raise OrgkitError(
                        f"{option} {value}: an OU is named by its path from the root",
                        hint=f"e.g. ou:/{name}",
                    )
                name = name.rstrip("/") or ROOT_PATH
            if name not in found[prefix]:
                found[prefix].append(name)
        return cls(tuple(found["account"]), tuple(found["ou"]), tuple(found["project"]))

    @classmethod
    def of_filters(cls, accounts: Iterable[str], ous: Iterable[str]) -> Target:
        """Drift's ``--account`` and ``--ou`` filters, as a target for what is read."""
        return cls(tuple(accounts), tuple(ous), filters=True)

    def named(self, prefix: str, name: str) -> str:
        """How the user gave a target: ``--target account:X`` (or drift's ``--account X``)."""
        if self.filters:
            return f"--{prefix} {name}"
        return f"--target {prefix}:{name}"

    @classmethod
    def from_dict(cls, data: dict[str, list[str]] | None) -> Target:
        """A plan's ``target`` (None: the whole organization)."""
        if data is None:
            return cls()
        # Through parse: a saved plan's names get the checks the command line's get.
        return cls.parse(
            [f"account:{a}" for a in data["accounts"]]
            + [f"ou:{o}" for o in data["ous"]]
            + [f"project:{p}" for p in data["projects"]],
            option="the plan's target:",
        )

    def to_dict(self) -> dict[str, list[str]] | None:
        """The plan JSON's ``target``: None when the plan is of the whole organization."""
        if self.everything:
            return None
        return {
            "accounts": list(self.accounts),
            "ous": list(self.ous),
            "projects": list(self.projects),
        }

    @property
    def everything(self) -> bool:
        """True when nothing is targeted, or the root is: the whole organization."""
        return not (self.accounts or self.ous or self.projects) or ROOT_PATH in self.ous

    def __str__(self) -> str:
        return ", ".join(
            [f"account:{a}" for a in self.accounts]
            + [f"ou:{o}" for o in self.ous]
            + [f"project:{p}" for p in self.projects]
        )

    def check(self, spec: OrgSpec) -> None:
        """Projects must be declared (accounts and OUs are checked against the organization
        too, once it is read: :func:`reach`)."""
        declared = [p.name for p in spec.projects] + sorted(
            {a.project for a in spec.accounts if a.project}
        )
        for project in self.projects:
            if project not in declared:
                raise OrgkitError(
                    f"{self.named('project', project)}: no such project in org.yaml"
                    + did_you_mean(project, declared),
                    hint="`orgkit project list --offline` lists them.",
                )

    def account_filter(self, spec: OrgSpec) -> AccountFilter:
        """Which accounts are in the target (for the reads made per account)."""
        return AccountFilter(self, spec)


class AccountFilter:
    """Whether an account (live or only declared) is in a target: named, of a targeted project,
    or under a targeted OU as declared or as it is live. Everything, for an empty target."""

    def __init__(self, target: Target, spec: OrgSpec) -> None:
        self.everything = target.everything
        self.named = {s.lower() for s in target.accounts}
        self.ous = target.ous
        self.projects = set(target.projects)
        self.declared = {a.email.lower(): a for a in spec.accounts}

    def __call__(
        self, *, email: str, account_id: str | None, name: str, live_ou: str | None
    ) -> bool:
        if self.everything:
            return True
        email = email.lower()
        declared = self.declared.get(email)
        if self.named & {email, name.lower(), (account_id or "").lower()}:
            return True
        if declared is not None and (
            declared.name.lower() in self.named or declared.project in self.projects
        ):
            return True
        places = {declared.ou} if declared is not None else set()
        places |= {live_ou} if live_ou is not None else set()
        return any(under(place, ou) for place in places for ou in self.ous)


def candidates(config_path: Path) -> list[str]:
    """Every target org.yaml names (``account:NAME``, ``ou:/PATH``, ``project:NAME``), for
    shell completion: read as plain YAML, nothing validated; none when it cannot be read."""
    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    if not isinstance(data, dict):
        return []
    found: list[str] = []

    def walk(ous: Any, parent: str) -> None:
        for ou in ous if isinstance(ous, list) else []:
            if isinstance(ou, dict) and isinstance(ou.get("name"), str):
                path = f"{parent.rstrip('/')}/{ou['name']}"
                found.append(f"ou:{path}")
                walk(ou.get("children"), path)

    walk(data.get("ous"), ROOT_PATH)
    for key, prefix in (("accounts", "account"), ("projects", "project")):
        items = data.get(key)
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                found.append(f"{prefix}:{item['name']}")
    return found
