"""``policy_type``: a policy type enabled on the root (service control policies today)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from orgkit.changes import Action, Change, Side, address
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
from orgkit.names import ROOT_PATH, SCP


class PolicyTypeOn(Side):
    """A policy type to enable on the root."""

    type: str
    root: str


def enable(ctx: ApplyContext, change: Change) -> str:
    """EnablePolicyType on the root."""
    after = change.new(PolicyTypeOn)
    ctx.aws.client("organizations").enable_policy_type(
        RootId=ctx.ids.root_id, PolicyType=after.type
    )
    return "enabled"


class PolicyTypeKind(ResourceKind):
    """Policy types the declared policies need, enabled on the root before any policy."""

    kind = "policy_type"
    heading = "Policy types"
    order = 10
    destroy_rank = 90  # never planned: orgkit does not disable policy types
    destroy_flag = "allow_destroy"
    models: ClassVar[Mapping[Action, SideModels]] = {Action.CREATE: (None, PolicyTypeOn)}

    def read(self, ctx: ReadContext, live: LiveOrg) -> LiveOrg:
        """Nothing of its own: ListRoots (read with the organization) carries the enabled
        policy types."""
        return live

    def plan(self, ctx: PlanContext) -> PlanPart:
        part = PlanPart()
        if ctx.live.feature_set != "ALL":
            part.warnings.append(
                f"the organization's feature set is {ctx.live.feature_set}; SCPs need all "
                "features enabled (enable them in the console, then plan again)"
            )
        if ctx.spec.policies and SCP not in ctx.live.policy_types:
            part.changes.append(
                Change(
                    address(self.kind, SCP),
                    self.kind,
                    Action.CREATE,
                    None,
                    PolicyTypeOn(type=SCP, root=ROOT_PATH),
                )
            )
        return part

    @property
    def handlers(self) -> Mapping[Action, BatchHandler]:
        return {Action.CREATE: one_at_a_time(enable)}

    def describe(self, change: Change) -> list[str]:
        after = change.new(PolicyTypeOn)
        return [f"enable {after.type} on the root"]


KIND = PolicyTypeKind()
