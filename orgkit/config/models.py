"""Pydantic models of org.yaml: the desired organization.

Identity follows the design: an OU by its path (``/Production/Apps``), an account by its email,
a policy by its name. Unknown keys are errors everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from orgkit.quotas import Quotas

ROOT_PATH = "/"

AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Name = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]
TagValue = Annotated[str, StringConstraints(max_length=256)]
Tags = dict[TagKey, TagValue]

_OU_NAME = re.compile(r"^[^/]+$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Environment(str, Enum):
    """The environments an account can serve; budgets and stack parameters key on them."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"
    SHARED = "shared"
    SECURITY = "security"
    SANDBOX = "sandbox"


class OrganizationSpec(_Model):
    """The organization itself and its root."""

    name: Name = Field(description="Display name of the organization (for people).")
    management_account_id: AccountId = Field(
        description="The management account; orgkit refuses to run with any other caller."
    )
    access_role: Name = Field(
        "OrganizationAccountAccessRole",
        description="Role created in new accounts that the management account assumes.",
    )
    policies: list[Name] = Field(
        default_factory=list, description="SCPs attached to the root, by policy name."
    )
    tags: Tags = Field(
        default_factory=dict, description="Tags put on everything orgkit creates."
    )


class PolicySpec(_Model):
    """A service control policy whose document lives in a file under scps/."""

    name: Name
    file: Name = Field(
        description="Path relative to org.yaml; *.j2 files are rendered with jinja2 first."
    )
    description: str = ""
    state: Literal["present", "absent"] = Field(
        "present", description="`absent` deletes the policy (needs --allow-destroy)."
    )


class OUSpec(_Model):
    """An organizational unit; children nest."""

    name: Name
    policies: list[Name] = Field(default_factory=list)
    tags: Tags = Field(default_factory=dict)
    renamed_from: Name | None = Field(
        None, description="The OU's previous name; the plan renames it in place."
    )
    state: Literal["present", "absent"] = Field(
        "present", description="`absent` deletes the OU (needs --allow-destroy)."
    )
    children: list[OUSpec] = Field(default_factory=list)


class AccountSpec(_Model):
    """A member account, identified by its email."""

    name: Name
    email: EmailStr
    ou: str = Field(description="Path of the parent OU, e.g. /Production; `/` is the root.")
    environment: Environment
    project: Name | None = None
    policies: list[Name] = Field(default_factory=list)
    tags: Tags = Field(default_factory=dict)
    state: Literal["active", "closed", "removed"] = Field(
        "active",
        description="`closed` closes the account, `removed` removes it from the organization "
        "(each needs its own flag).",
    )


class OrgSpec(_Model):
    """The whole of org.yaml."""

    version: Literal[1] = 1
    organization: OrganizationSpec
    vars: dict[str, object] = Field(
        default_factory=dict, description="Values for jinja2 SCP files and templates."
    )
    quotas: Quotas = Field(default_factory=Quotas)
    policies: list[PolicySpec] = Field(default_factory=list)
    ous: list[OUSpec] = Field(default_factory=list)
    accounts: list[AccountSpec] = Field(default_factory=list)

    def walk_ous(self) -> Iterator[tuple[str, OUSpec, tuple[object, ...]]]:
        """Yield (path, OU, location in the file) for every OU, parents before children."""

        def walk(
            ous: list[OUSpec], parent: str, loc: tuple[object, ...]
        ) -> Iterator[tuple[str, OUSpec, tuple[object, ...]]]:
            for index, ou in enumerate(ous):
                path = ou_path(parent, ou.name)
                here = (*loc, index)
                yield path, ou, here
                yield from walk(ou.children, path, (*here, "children"))

        yield from walk(self.ous, ROOT_PATH, ("ous",))

    def policy(self, name: str) -> PolicySpec | None:
        """The declared policy of that name, if any."""
        return next((p for p in self.policies if p.name == name), None)


def ou_path(parent: str, name: str) -> str:
    """Join an OU name onto its parent's path."""
    return f"{parent.rstrip('/')}/{name}"


def parent_path(path: str) -> str:
    """The parent path of an OU path; the root's children have ``/``."""
    head = path.rstrip("/").rsplit("/", 1)[0]
    return head or ROOT_PATH


def ou_depth(path: str) -> int:
    """How many levels below the root an OU path is."""
    return len([part for part in path.split("/") if part])
