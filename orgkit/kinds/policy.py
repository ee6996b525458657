"""``policy``: AWS Organizations policies of every type (SCPs, RCPs, tag, backup and AI services
opt-out policies), identified by name, documents from files under scps/ or policies/."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.changes import Action, Change, Side, Unmanaged, address
from orgkit.config.policies import fill_ids, minify
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
from orgkit.live.model import LiveOrg, LivePolicy
from orgkit.live.reader import READ_HINT, parallel, policy_details, policy_summaries
from orgkit.live.session import aws_error
from orgkit.names import (
    POLICY_TYPE_BY_NAME,
    POLICY_TYPES,
    SCP,
    aws_tags,
    managed_tags,
    policy_label,
)
from orgkit.policy_doc import equivalent


class NewPolicy(Side):
    """A policy to create."""

    name: str
    type: str = SCP  # AWS's policy type
    description: str
    file: str
    content: dict[str, Any]
    tags: dict[str, str]


class LivePolicyState(Side):
    """A live policy as the plan saw it."""

    name: str
    type: str = SCP
    description: str
    content: Any
    id: str


class PolicyUpdate(Side):
    """What a live policy becomes."""

    name: str
    type: str = SCP
    description: str
    file: str
    content: dict[str, Any]
    id: str


class PolicyRef(Side):
    """A live policy to delete."""

    name: str
    type: str = SCP
    id: str


# -- read -----------------------------------------------------------------------------------
def types_to_read(enabled: Iterable[str], declared: Iterable[str]) -> list[str]:
    """The AWS policy types whose policies are listed: SCPs always (as before any other type
    existed), every type enabled on the root, and every type org.yaml declares."""
    wanted = {SCP, *enabled, *declared}
    known = [t.aws for t in POLICY_TYPES if t.aws in wanted]
    return known + sorted(wanted - set(known))


def read_policies(org: Any, policy_types: Iterable[str]) -> list[LivePolicy]:
    """Policies of each type with content and targets for customer ones: one ListPolicies per
    type, then 2 calls a policy, never one per account."""
    summaries = policy_summaries(org, policy_types)
    customer = [p for p in summaries if not p.get("AwsManaged")]

    managed = [
        LivePolicy(p["Id"], p["Name"], p.get("Description", ""), True, type=p.get("Type", SCP))
        for p in summaries
        if p.get("AwsManaged")
    ]
    return managed + parallel(lambda summary: policy_details(org, summary), customer)


# -- apply ----------------------------------------------------------------------------------
def create(ctx: ApplyContext, change: Change) -> str:
    """CreatePolicy of its type with the minified document."""
    after = change.new(NewPolicy)
    policy = ctx.aws.client("organizations").create_policy(
        Name=after.name,
        Description=after.description,
        Type=after.type,
        Content=minify(after.content),
        Tags=aws_tags(after.tags),
    )["Policy"]["PolicySummary"]
    ctx.ids.policies[(after.type, after.name)] = policy["Id"]
    return str(policy["Id"])


def update(ctx: ApplyContext, change: Change) -> str:
    """UpdatePolicy: description and content."""
    after = change.new(PolicyUpdate)
    ctx.aws.client("organizations").update_policy(
        PolicyId=after.id, Description=after.description, Content=minify(after.content)
    )
    return "updated"


def delete(ctx: ApplyContext, change: Change) -> str:
    """DeletePolicy (its attachments are detached first)."""
    ctx.aws.client("organizations").delete_policy(PolicyId=change.old(PolicyRef).id)
    return "deleted"


def json_diff(before: Any, after: Any, old: str = "live", new: str = "org.yaml") -> list[str]:
    """A unified diff of two JSON documents, keys sorted."""
    a = json.dumps(before, indent=2, sort_keys=True).splitlines()
    b = json.dumps(after, indent=2, sort_keys=True).splitlines()
    return list(difflib.unified_diff(a, b, old, new, lineterm="", n=2))


def declared_document(ctx: PlanContext, name: str) -> dict[str, Any]:
    """A declared policy's document with the live organization's ids filled in."""
    document: dict[str, Any] = fill_ids(
        ctx.config.policies[name].document,
        ctx.live.organization_id,
        ctx.live.management_account_id,
    )
    return document


class PolicyKind(ResourceKind):
    """Policies of every type: created and updated from their files; deleted with
    ``--allow-destroy`` when org.yaml says ``state: absent``; live customer policies of the
    types read that org.yaml does not declare are unmanaged."""

    kind = "policy"
    heading = "Organization policies"
    order = 30
    needs = frozenset()
    provides = frozenset({"policies"})
    destroy_rank = 4
    destroy_flag = "allow_destroy"
    belongs_to = "policy"
    models: ClassVar[Mapping[Action, SideModels]] = {
        Action.CREATE: (None, NewPolicy),
        Action.UPDATE: (LivePolicyState, PolicyUpdate),
        Action.DELETE: (PolicyRef, None),
    }

    def read(self, ctx: ReadContext, live: LiveOrg) -> LiveOrg:
        """Every policy of the types enabled on the root or declared; content and targets of
        customer ones (DescribePolicy and ListTargetsForPolicy per policy, never per account)."""
        declared = {POLICY_TYPE_BY_NAME[p.type].aws for p in ctx.config.spec.policies}
        try:
            policies = read_policies(
                ctx.aws.client("organizations"), types_to_read(live.policy_types, declared)
            )
        except (ClientError, BotoCoreError) as exc:
            raise aws_error("reading the organization's policies", exc, READ_HINT) from exc
        return replace(live, policies=tuple(policies))

    def plan(self, ctx: PlanContext) -> PlanPart:
        part = PlanPart()
        for policy in ctx.spec.policies:
            policy_type = POLICY_TYPE_BY_NAME[policy.type].aws
            live = ctx.live.policy(policy.name, policy_type)
            addr = address(self.kind, policy.name)
            other = ctx.live.policy_by_name.get(policy.name)
            if live is None and other is not None and other.type != policy_type:
                part.warnings.append(
                    f"policy {policy.name!r} is declared as a{_an(policy_type)} "
                    f"{policy_label(policy_type)}, but the live policy of that name "
                    f"({other.id}) is a{_an(other.type)} {policy_label(other.type)}: a policy's "
                    "type cannot change, and AWS may refuse a second policy of the same name"
                )
            if policy.state == "absent":
                if live is not None:
                    part.changes.append(
                        Change(
                            addr,
                            self.kind,
                            Action.DELETE,
                            PolicyRef(name=policy.name, type=policy_type, id=live.id),
                            None,
                        )
                    )
                continue
            document = declared_document(ctx, policy.name)
            if live is None:
                part.changes.append(
                    Change(
                        addr,
                        self.kind,
                        Action.CREATE,
                        None,
                        NewPolicy(
                            name=policy.name,
                            type=policy_type,
                            description=policy.description,
                            file=policy.file,
                            content=document,
                            tags=managed_tags(ctx.spec.organization.tags),
                        ),
                    )
                )
            elif live.description != policy.description or not equivalent(live.document, document):
                part.changes.append(
                    Change(
                        addr,
                        self.kind,
                        Action.UPDATE,
                        LivePolicyState(
                            name=live.name,
                            type=live.type,
                            description=live.description,
                            content=live.document,
                            id=live.id,
                        ),
                        PolicyUpdate(
                            name=policy.name,
                            type=policy_type,
                            description=policy.description,
                            file=policy.file,
                            content=document,
                            id=live.id,
                        ),
                    )
                )
        declared = {(POLICY_TYPE_BY_NAME[p.type].aws, p.name) for p in ctx.spec.policies}
        for live in sorted(ctx.live.policy_by_key.values(), key=lambda p: (p.name, p.type)):
            if (live.type, live.name) not in declared:
                part.unmanaged.append(
                    Unmanaged(
                        address(self.kind, live.name),
                        self.kind,
                        f"{policy_label(live.type)} {live.id} not in org.yaml",
                    )
                )
        return part

    @property
    def handlers(self) -> Mapping[Action, BatchHandler]:
        return {
            Action.CREATE: one_at_a_time(create),
            Action.UPDATE: one_at_a_time(update),
            Action.DELETE: one_at_a_time(delete),
        }

    def note(self, change: Change) -> str:
        side = change.after if change.after is not None else change.before
        return policy_label(str(getattr(side, "type", SCP)))

    def describe(self, change: Change) -> list[str]:
        if change.action is Action.CREATE:
            new = change.new(NewPolicy)
            # A reviewer approves what the policy says, not a file name.
            return [f"from {new.file}:"] + [
                f"+ {line}"
                for line in json.dumps(new.content, indent=2, sort_keys=True).splitlines()
            ]
        if change.action is Action.DELETE:
            return [f"delete {change.old(PolicyRef).id}"]
        before, after = change.old(LivePolicyState), change.new(PolicyUpdate)
        lines = []
        if before.description != after.description:
            lines.append(f"description: {before.description!r} -> {after.description!r}")
        return lines + json_diff(before.content, after.content)


def _an(aws_type: str) -> str:
    """'n' when the label starts with a vowel sound (an SCP, an RCP, an AI opt-out policy)."""
    return "n" if policy_label(aws_type)[0] in "AERS" else ""


KIND = PolicyKind()
