"""``policy_attachment``: a policy (of any type) attached to the root, an OU or an account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

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
from orgkit.names import POLICY_TYPE_BY_NAME, ROOT_PATH, SCP, policy_label

# Guardrails first: policies on the root and OUs are attached before any account is created
# or moved into them (accounts are planned at order 40); policies on accounts once they exist.
ORDER_ROOT_AND_OUS = 35
ORDER_ACCOUNTS = 45


class NewAttachment(Side):
    """A policy to attach to a target (an OU path, ``/``, or an account email)."""

    policy: str
    type: str = SCP  # the policy's AWS type
    target: str


class LiveAttachment(Side):
    """A live attachment, with the ids that DetachPolicy takes."""

    policy: str
    type: str = SCP
    policy_id: str
    target: str
    target_id: str


def attach(ctx: ApplyContext, change: Change) -> str:
    """AttachPolicy, resolving policies and targets created earlier in this apply."""
    after = change.new(NewAttachment)
    ctx.aws.client("organizations").attach_policy(
        PolicyId=ctx.ids.policies[(after.type, after.policy)],
        TargetId=ctx.ids.target(after.target),
    )
    return "attached"


def detach(ctx: ApplyContext, change: Change) -> str:
    """DetachPolicy."""
    before = change.old(LiveAttachment)
    ctx.aws.client("organizations").detach_policy(
        PolicyId=before.policy_id, TargetId=before.target_id
    )
    return "detached"


class AttachmentKind(ResourceKind):
    """Where each declared policy is attached: created to match org.yaml, detached with
    ``--allow-destroy``."""

    kind = "policy_attachment"
    heading = "Policy attachments"
    order = ORDER_ROOT_AND_OUS
    needs = frozenset()
    provides = frozenset()
    destroy_rank = 2
    destroy_flag = "allow_destroy"
    belongs_to = "attachment"
    models: ClassVar[Mapping[Action, SideModels]] = {
        Action.CREATE: (None, NewAttachment),
        Action.DELETE: (LiveAttachment, None),
    }

    def read(self, ctx: ReadContext, live: LiveOrg) -> LiveOrg:
        """Nothing of its own: each policy's targets are read with the policy."""
        return live

    def plan(self, ctx: PlanContext) -> PlanPart:
        part = PlanPart()
        for policy in ctx.spec.policies:
            policy_type = POLICY_TYPE_BY_NAME[policy.type].aws
            live = ctx.live.policy(policy.name, policy_type)
            if policy.state == "absent" and live is not None:
                for target_id in live.targets:
                    part.changes.append(
                        self._detach(ctx, policy.name, policy_type, live.id, target_id)
                    )
        desired = _desired_targets(ctx)
        for to_accounts in (False, True):

            def in_scope(target: str, to_accounts: bool = to_accounts) -> bool:
                return target.startswith("/") is not to_accounts

            for policy in ctx.spec.policies:
                if policy.state == "absent":
                    continue
                policy_type = POLICY_TYPE_BY_NAME[policy.type].aws
                live = ctx.live.policy(policy.name, policy_type)
                live_targets = {
                    ctx.target_name(t): t
                    for t in (live.targets if live else ())
                    if in_scope(ctx.target_name(t))
                }
                wanted = {t for t in desired[policy.name] if in_scope(t)}
                for target in sorted(wanted - set(live_targets)):
                    part.changes.append(
                        Change(
                            address(self.kind, policy.name, target),
                            self.kind,
                            Action.CREATE,
                            None,
                            NewAttachment(policy=policy.name, type=policy_type, target=target),
                        )
                    )
                for target in sorted(set(live_targets) - wanted):
                    if live is None:  # a live target implies a live policy
                        raise AssertionError(f"{policy.name} has targets but is not live")
                    part.changes.append(
                        self._detach(ctx, policy.name, policy_type, live.id, live_targets[target])
                    )
        return part

    def _detach(
        self, ctx: PlanContext, policy: str, policy_type: str, policy_id: str, target_id: str
    ) -> Change:
        target = ctx.target_name(target_id)
        return Change(
            address(self.kind, policy, target),
            self.kind,
            Action.DELETE,
            LiveAttachment(
                policy=policy,
                type=policy_type,
                policy_id=policy_id,
                target=target,
                target_id=target_id,
            ),
            None,
        )

    def sort_key(self, change: Change, ctx: PlanContext) -> tuple[Any, ...]:
        target = change.new(NewAttachment).target
        return (ORDER_ROOT_AND_OUS if target.startswith("/") else ORDER_ACCOUNTS,)

    @property
    def handlers(self) -> Mapping[Action, BatchHandler]:
        return {Action.CREATE: one_at_a_time(attach), Action.DELETE: one_at_a_time(detach)}

    def note(self, change: Change) -> str:
        side = change.after if change.after is not None else change.before
        return policy_label(str(getattr(side, "type", SCP)))

    def describe(self, change: Change) -> list[str]:
        if change.action is Action.CREATE:
            return []  # the address names the policy and the target
        before = change.old(LiveAttachment)
        return [
            f"detach {before.policy} ({before.policy_id}) from {before.target} ({before.target_id})"
        ]


def _desired_targets(ctx: PlanContext) -> dict[str, set[str]]:
    spec = ctx.spec
    desired: dict[str, set[str]] = {p.name: set() for p in spec.policies}
    for name in spec.organization.policies:
        desired[name].add(ROOT_PATH)
    for path, ou, _ in spec.walk_ous():
        if ou.state == "present":
            for name in ou.policies:
                desired[name].add(path)
    for account in spec.accounts:
        if account.state == "active":
            for name in account.policies:
                desired[name].add(account.email.lower())
    return desired


KIND = AttachmentKind()
