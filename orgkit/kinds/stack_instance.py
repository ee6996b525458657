"""``stack_instance``: a stack set's stack in one account and region."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from orgkit.changes import Action, Change, Finding, Side, address
from orgkit.config.stacksets import ENVIRONMENT_PARAMETER, instance_overrides, resolve_targets
from orgkit.kinds.base import (
    PlanContext,
    PlanPart,
    ReadContext,
    SideModels,
)
from orgkit.kinds.stack_set import (
    STACK_INSTANCE,
    STACK_SETS_ORDER,
    StackSetOperations,
    definition,
    org_ids,
    stack_set_index,
    stack_set_of,
)
from orgkit.live.model import LiveOrg, LiveStackSet
from orgkit.live.session import AwsContext, error_code


def instance_outputs(
    aws: AwsContext, stack_set: str, account_id: str, access_role: str, region: str
) -> dict[str, str]:
    """The outputs of a stack set's instance in one account and region ({} when the instance
    or its stack is not there): DescribeStackInstance in the management account for the stack's
    id, then DescribeStacks inside the member account through its access role."""
    cfn = aws.client("cloudformation", region)
    try:
        instance = cfn.describe_stack_instance(
            StackSetName=stack_set, StackInstanceAccount=account_id, StackInstanceRegion=region
        )["StackInstance"]
    except ClientError as exc:
        if error_code(exc) in {"StackInstanceNotFoundException", "StackSetNotFoundException"}:
            return {}
        raise
    stack_id = instance.get("StackId")
    if not stack_id:
        return {}
    member = aws.members().reader(account_id, access_role, "cloudformation", region=region)
    try:
        stacks = member.describe_stacks(StackName=stack_id)["Stacks"]
    except ClientError as exc:
        if error_code(exc) == "ValidationError":  # the stack is gone
            return {}
        raise
    return {o["OutputKey"]: o["OutputValue"] for s in stacks for o in s.get("Outputs", [])}


class InstanceTarget(Side):
    """An instance org.yaml wants (``account_id`` None: the account is created first)."""

    stack_set: str
    account_email: str
    account_id: str | None
    region: str
    environment: str
    overrides: dict[str, str]
    operation_preferences: dict[str, Any]


class LiveInstanceOverrides(Side):
    """A live instance whose overrides differ."""

    overrides: dict[str, str]
    status: str


class LiveInstanceRef(Side):
    """A live instance to delete."""

    stack_set: str
    account_id: str
    account_email: str
    region: str
    status: str


class StackInstanceKind(StackSetOperations):
    """One instance per target account and region: created, given new overrides, deleted
    with ``--allow-destroy`` when its account is no longer a target."""

    kind = STACK_INSTANCE
    heading = "Stack instances"
    order = STACK_SETS_ORDER + 1  # shown after stack sets; planned with them (sort_key)
    needs = frozenset()
    provides = frozenset()
    destroy_rank = 0
    destroy_flag = "allow_destroy"
    belongs_to = "account"
    models: ClassVar[Mapping[Action, SideModels]] = {
        Action.CREATE: (None, InstanceTarget),
        Action.UPDATE: (LiveInstanceOverrides, InstanceTarget),
        Action.DELETE: (LiveInstanceRef, None),
    }

    def read(self, ctx: ReadContext, live: LiveOrg) -> LiveOrg:
        """Nothing of its own: instances are read with their stack set."""
        return live

    def plan(self, ctx: PlanContext) -> PlanPart:
        part = PlanPart()
        for index, stack_set in enumerate(ctx.spec.stack_sets):
            live_set = ctx.live.stack_set_by_name.get(stack_set.name)
            if stack_set.state == "absent":
                for gone in live_set.instances if live_set else ():
                    part.changes.append(
                        self._delete(ctx, stack_set.name, gone.account_id, gone.region, gone.status)
                    )
                continue
            preferences = definition(ctx, index).operation_preferences
            template = ctx.config.templates[stack_set.name]
            existing = {
                (i.account_id, i.region): i for i in (live_set.instances if live_set else ())
            }
            wanted: set[tuple[str, str]] = set()
            for account in resolve_targets(ctx.spec, stack_set):
                email = account.email.lower()
                live_account = ctx.live.account_by_email.get(email)
                account_id = live_account.id if live_account else None
                overrides = instance_overrides(
                    stack_set, template.parameters, account, org_ids(ctx.live)
                )
                for region in stack_set.regions:
                    after = InstanceTarget(
                        stack_set=stack_set.name,
                        account_email=email,
                        account_id=account_id,
                        region=region,
                        environment=account.environment.value,
                        overrides=overrides,
                        operation_preferences=preferences,
                    )
                    addr = address(self.kind, stack_set.name, email, region)
                    instance = existing.get((account_id, region)) if account_id else None
                    if account_id:
                        wanted.add((account_id, region))
                    if instance is None:
                        part.changes.append(Change(addr, self.kind, Action.CREATE, None, after))
                    elif dict(instance.overrides) != overrides:
                        part.changes.append(
                            Change(
                                addr,
                                self.kind,
                                Action.UPDATE,
                                LiveInstanceOverrides(
                                    overrides=dict(instance.overrides), status=instance.status
                                ),
                                after,
                            )
                        )
                    elif instance.status != "CURRENT":
                        part.warnings.append(
                            f"{addr} is {instance.status}"
                            + (f": {instance.status_reason}" if instance.status_reason else "")
                            + "; `orgkit drift` shows details"
                        )
            for (account_id, region), instance in sorted(existing.items()):
                if (account_id, region) not in wanted:
                    part.changes.append(
                        self._delete(ctx, stack_set.name, account_id, region, instance.status)
                    )
        return part

    def _delete(
        self, ctx: PlanContext, stack_set: str, account_id: str, region: str, status: str
    ) -> Change:
        owner = ctx.live.target_name(account_id)
        return Change(
            address(self.kind, stack_set, owner, region),
            self.kind,
            Action.DELETE,
            LiveInstanceRef(
                stack_set=stack_set,
                account_id=account_id,
                account_email=owner,
                region=region,
                status=status,
            ),
            None,
        )

    def sort_key(self, change: Change, ctx: PlanContext) -> tuple[Any, ...]:
        return (STACK_SETS_ORDER, stack_set_index(ctx, stack_set_of(change)), 1)

    def is_destructive(self, change: Change) -> bool:
        """A delete; and an update that changes the instance's ``Environment``: the platform
        names its tables and buckets after it, so CloudFormation would replace them."""
        return change.action is Action.DELETE or bool(_environment_change(change))

    def describe(self, change: Change) -> list[str]:
        if change.action is Action.DELETE:
            ref = change.old(LiveInstanceRef)
            return [f"delete the stack in {ref.account_id} {ref.region}"]
        after = change.new(InstanceTarget)
        if change.action is Action.UPDATE:
            before = change.old(LiveInstanceOverrides)
            moved = _environment_change(change)
            loss = (
                [
                    f"data loss: Environment {moved[0]} -> {moved[1]} renames, so replaces, every "
                    "resource named after it"
                ]
                if moved
                else []
            )
            return [*loss, f"overrides: {_pairs(before.overrides)} -> {_pairs(after.overrides)}"]
        return [f"overrides: {_pairs(after.overrides) or 'none'}"]

    def live_findings(self, live: LiveOrg) -> list[Finding]:
        """Instances CloudFormation found DRIFTED, and instances that are not CURRENT."""
        findings = []
        for stack_set in live.stack_sets:
            for instance in stack_set.instances:
                addr = self._address(live, stack_set, instance.account_id, instance.region)
                if instance.drift_status == "DRIFTED":
                    findings.append(
                        Finding(
                            addr,
                            self.kind,
                            instance.account_id,
                            "changed",
                            {"drift_status": "IN_SYNC"},
                            {"drift_status": "DRIFTED"},
                        )
                    )
                if instance.status != "CURRENT":
                    findings.append(
                        Finding(
                            addr,
                            self.kind,
                            instance.account_id,
                            "failed",
                            {"status": "CURRENT"},
                            {
                                "status": instance.status,
                                "reason": instance.status_reason,
                                "detailed_status": instance.detailed_status,
                            },
                        )
                    )
        return findings

    def _address(self, live: LiveOrg, stack_set: LiveStackSet, account_id: str, region: str) -> str:
        return address(self.kind, stack_set.name, live.target_name(account_id), region)


def _environment_change(change: Change) -> tuple[str, str] | None:
    if change.action is not Action.UPDATE or not isinstance(change.before, LiveInstanceOverrides):
        return None
    old = change.before.overrides.get(ENVIRONMENT_PARAMETER)
    new = change.new(InstanceTarget).overrides.get(ENVIRONMENT_PARAMETER)
    return (old, new) if old is not None and new is not None and old != new else None


def _pairs(values: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


KIND = StackInstanceKind()
