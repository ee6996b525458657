"""``ou``: organizational units, identified by their path (``/Production/Apps``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.changes import Action, Change, Side, Unmanaged, address
from orgkit.config.models import parent_path
from orgkit.kinds.base import (
    ApplyContext,
    BatchHandler,
    PlanContext,
    PlanPart,
    ReadContext,
    ResourceKind,
    SideModels,
    one_at_a_time,
)
from orgkit.live.model import LiveOrg
from orgkit.live.reader import READ_HINT
from orgkit.live.session import aws_error
from orgkit.names import aws_tags, managed_tags


class NewOU(Side):
    """An OU to create under ``parent``."""

    path: str
    name: str
    parent: str
    tags: dict[str, str]


class OURef(Side):
    """A live OU."""

    path: str
    name: str
    id: str


class OUName(Side):
    """An OU's new name and path."""

    path: str
    name: str


# -- apply ----------------------------------------------------------------------------------
def create(ctx: ApplyContext, change: Change) -> str:
    """CreateOrganizationalUnit under the parent (created earlier in this apply, or live)."""
    after = change.new(NewOU)
    ou = ctx.aws.client("organizations").create_organizational_unit(
        ParentId=ctx.ids.ou(after.parent),
        Name=after.name,
        Tags=aws_tags(after.tags),
    )["OrganizationalUnit"]
    ctx.ids.ous[after.path] = ou["Id"]
    return str(ou["Id"])


def rename(ctx: ApplyContext, change: Change) -> str:
    """UpdateOrganizationalUnit: a rename in place keeps the OU's id, children and accounts."""
    before, after = change.old(OURef), change.new(OUName)
    ctx.aws.client("organizations").update_organizational_unit(
        OrganizationalUnitId=before.id, Name=after.name
    )
    ctx.ids.rename(before.path, after.path)
    return f"renamed {before.name} to {after.name}"


def delete(ctx: ApplyContext, change: Change) -> str:
    """DeleteOrganizationalUnit (children are deleted first: see destroy_key)."""
    ctx.aws.client("organizations").delete_organizational_unit(
        OrganizationalUnitId=change.old(OURef).id
    )
    return "deleted"


class OUKind(ResourceKind):
    """OUs: created parents first, renamed in place (``renamed_from``), deleted children
    first with ``--allow-destroy``; live OUs org.yaml does not declare are unmanaged."""

    kind = "ou"
    heading = "Organizational units"
    order = 20
    needs = frozenset()
    provides = frozenset({"ous"})
    destroy_rank = 5
    destroy_flag = "allow_destroy"
    belongs_to = "ou"
    models: ClassVar[Mapping[Action, SideModels]] = {
        Action.CREATE: (None, NewOU),
        Action.UPDATE: (OURef, OUName),
        Action.DELETE: (OURef, None),
    }

    def read(self, ctx: ReadContext, live: LiveOrg) -> LiveOrg:
        """The OU tree, level by level: one ListOrganizationalUnitsForParent per OU."""
        try:
            ous = ctx.structure(live).ous
        except (ClientError, BotoCoreError) as exc:
            raise aws_error("reading the OU tree", exc, READ_HINT) from exc
        return replace(live, ous=ous)

    def plan(self, ctx: PlanContext) -> PlanPart:
        part = PlanPart()
        current = {ctx.renamed(o.path): o for o in ctx.live.ous}
        declared: set[str] = set()
        for path, ou, _ in ctx.spec.walk_ous():
            declared.add(path)
            renamed = ctx.renamed_ous.get(path)
            if ou.state == "absent":
                if path in current:
                    live = current[path]
                    part.changes.append(
                        Change(
                            address(self.kind, path),
                            self.kind,
                            Action.DELETE,
                            OURef(path=path, name=ou.name, id=live.id),
                            None,
                        )
                    )
                continue
            if renamed is not None:
                part.changes.append(
                    Change(
                        address(self.kind, path),
                        self.kind,
                        Action.UPDATE,
                        OURef(path=renamed.path, name=renamed.name, id=renamed.id),
                        OUName(path=path, name=ou.name),
                    )
                )
            elif path not in current:
                tags = managed_tags(ctx.spec.organization.tags, ou.tags)
                part.changes.append(
                    Change(
                        address(self.kind, path),
                        self.kind,
                        Action.CREATE,
                        None,
                        NewOU(path=path, name=ou.name, parent=parent_path(path), tags=tags),
                    )
                )
        for live_ou in ctx.live.ous:
            path = ctx.renamed(live_ou.path)
            if path not in declared:
                part.unmanaged.append(
                    Unmanaged(
                        address(self.kind, path), self.kind, f"OU {live_ou.id} not in org.yaml"
                    )
                )
        return part

    def destroy_key(self, change: Change) -> tuple[Any, ...]:
        """Deepest OUs first: AWS refuses to delete an OU that still has children."""
        return (self.destroy_rank, -change.old(OURef).path.count("/"))

    @property
    def handlers(self) -> Mapping[Action, BatchHandler]:
        return {
            Action.CREATE: one_at_a_time(create),
            Action.UPDATE: one_at_a_time(rename),
            Action.DELETE: one_at_a_time(delete),
        }

    def describe(self, change: Change) -> list[str]:
        if change.action is Action.CREATE:
            return []  # the address is the whole story
        if change.action is Action.UPDATE:
            before, after = change.old(OURef), change.new(OUName)
            return [f"rename {before.path} -> {after.path} (id {before.id} kept)"]
        before = change.old(OURef)
        return [f"delete {before.path} ({before.id})"]


KIND = OUKind()
