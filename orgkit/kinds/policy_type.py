"""``policy_type``: a policy type enabled on the root (each type a declared policy uses)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from botocore.exceptions import ClientError

from orgkit.changes import Action, Change, Side, address
from orgkit.errors import AwsError
from orgkit.kinds.base import (
    ApplyContext,
    BatchHandler,
    PlanContext,
    PlanPart,
    Poll,
    ReadContext,
    ResourceKind,
    SideModels,
    one_at_a_time,
)
from orgkit.live.model import LiveOrg
from orgkit.live.session import error_code
from orgkit.names import POLICY_TYPE_BY_NAME, POLICY_TYPES, ROOT_PATH


class PolicyTypeOn(Side):
    """A policy type to enable on the root."""

    type: str
    root: str


# AWS enables a policy type in the background (the root reports PENDING_ENABLE meanwhile), and
# policies of a type cannot be attached until it is ENABLED: apply waits, briefly.
ENABLE_POLL = Poll(first_delay=1.0, max_delay=10.0, timeout=5 * 60.0)


def enable(ctx: ApplyContext, change: Change) -> str:
    """EnablePolicyType on the root, then wait until ListRoots says it is ENABLED."""
    after = change.new(PolicyTypeOn)
    org = ctx.aws.client("organizations")
    try:
        org.enable_policy_type(RootId=ctx.ids.root_id, PolicyType=after.type)
    except ClientError as exc:
        # Enabled meanwhile (or still being enabled from an interrupted apply): wait for it.
        if error_code(exc) != "PolicyTypeAlreadyEnabledException":
            raise
    delays = ENABLE_POLL.delays(ctx.clock)
    while True:
        roots = org.list_roots()["Roots"]
        status = {
            t["Type"]: t.get("Status")
            for root in roots
            if root["Id"] == ctx.ids.root_id
            for t in root.get("PolicyTypes", [])
        }.get(after.type)
        if status == "ENABLED":
            return "enabled"
        delay = next(delays, None)
        if delay is None:
            raise AwsError(
                f"{after.type} is still {status or 'not listed'} on the root after "
                f"{ENABLE_POLL.timeout:.0f} s",
                hint="Check the root's policy types in the Organizations console, then plan "
                "and apply again.",
            )
        ctx.sleep(delay)


class PolicyTypeKind(ResourceKind):
    """Policy types the declared policies need, enabled on the root before any policy."""

    kind = "policy_type"
    heading = "Policy types"
    order = 10
    needs = frozenset()
    provides = frozenset()
    destroy_rank = 90  # never planned: orgkit does not disable policy types
    destroy_flag = "allow_destroy"
    belongs_to = "policy_type"
    models: ClassVar[Mapping[Action, SideModels]] = {Action.CREATE: (None, PolicyTypeOn)}

    def read(self, ctx: ReadContext, live: LiveOrg) -> LiveOrg:
        """Nothing of its own: ListRoots (read with the organization) carries the enabled
        policy types."""
        return live

    def plan(self, ctx: PlanContext) -> PlanPart:
        """EnablePolicyType for every type a present declared policy uses and the root does not
        have enabled yet (ListRoots' PolicyTypes), in a fixed order, before any policy."""
        part = PlanPart()
        used = {POLICY_TYPE_BY_NAME[p.type].aws for p in ctx.spec.policies if p.state == "present"}
        if ctx.live.feature_set != "ALL":
            part.warnings.append(
                f"the organization's feature set is {ctx.live.feature_set}; organization "
                "policies need all features enabled (enable them in the console, then plan again)"
            )
        for policy_type in POLICY_TYPES:
            if policy_type.aws in used and policy_type.aws not in ctx.live.policy_types:
                part.changes.append(
                    Change(
                        address(self.kind, policy_type.aws),
                        self.kind,
                        Action.CREATE,
                        None,
                        PolicyTypeOn(type=policy_type.aws, root=ROOT_PATH),
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
