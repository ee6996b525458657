"""``policy``: service control policies, identified by name, documents from files under scps/."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.changes import Action, Change, Side, Unmanaged, address
from orgkit.config.policies import minify
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
from orgkit.live.reader import READ_HINT, parallel
from orgkit.live.session import aws_error
from orgkit.names import SCP, aws_tags, managed_tags
from orgkit.policy_doc import equivalent


class NewPolicy(Side):
    """A policy to create."""

    name: str
    description: str
    file: str
    content: dict[str, Any]
    tags: dict[str, str]


class LivePolicyState(Side):
    """A live policy as the plan saw it."""

    name: str
    description: str
    content: Any
    id: str


class PolicyUpdate(Side):
    """What a live policy becomes."""

    name: str
    description: str
    file: str
    content: dict[str, Any]
    id: str


class PolicyRef(Side):
    """A live policy to delete."""

    name: str
    id: str


# -- read -----------------------------------------------------------------------------------
def read_policies(org: Any) -> list[LivePolicy]:
    """Customer SCPs with content and targets: 2 calls a policy, never one per account."""
    pages = org.get_paginator("list_policies").paginate(Filter=SCP)
    summaries = [p for page in pages for p in page["Policies"]]
    customer = [p for p in summaries if not p.get("AwsManaged")]

    def details(summary: dict[str, Any]) -> LivePolicy:
        content = org.describe_policy(PolicyId=summary["Id"])["Policy"]["Content"]
        targets = org.get_paginator("list_targets_for_policy").paginate(PolicyId=summary["Id"])
        return LivePolicy(
            id=summary["Id"],
            name=summary["Name"],
            description=summary.get("Description", ""),
            aws_managed=False,
            content=content,
            targets=tuple(sorted(t["TargetId"] for page in targets for t in page["Targets"])),
        )

    managed = [
        LivePolicy(p["Id"], p["Name"], p.get("Description", ""), True)
        for p in summaries
        if p.get("AwsManaged")
    ]
    return managed + parallel(details, customer)


# -- apply ----------------------------------------------------------------------------------
def create(ctx: ApplyContext, change: Change) -> str:
    """CreatePolicy with the minified document."""
    after = change.new(NewPolicy)
    policy = ctx.aws.client("organizations").create_policy(
        Name=after.name,
        Description=after.description,
        Type=SCP,
        Content=minify(after.content),
        Tags=aws_tags(after.tags),
    )["Policy"]["PolicySummary"]
    ctx.ids.policies[after.name] = policy["Id"]
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


class PolicyKind(ResourceKind):
    """SCPs: created and updated from their files; deleted with ``--allow-destroy`` when
    org.yaml says ``state: absent``; live customer SCPs not declared are unmanaged."""

    kind = "policy"
    heading = "Service control policies"
    order = 30
    destroy_rank = 4
    destroy_flag = "allow_destroy"
    models: ClassVar[Mapping[Action, SideModels]] = {
        Action.CREATE: (None, NewPolicy),
        Action.UPDATE: (LivePolicyState, PolicyUpdate),
        Action.DELETE: (PolicyRef, None),
    }

    def read(self, ctx: ReadContext, live: LiveOrg) -> LiveOrg:
        """Every SCP; content and targets of customer ones (DescribePolicy and
        ListTargetsForPolicy per policy, never per account)."""
        try:
            policies = read_policies(ctx.aws.client("organizations"))
        except (ClientError, BotoCoreError) as exc:
            raise aws_error("reading the service control policies", exc, READ_HINT) from exc
        return replace(live, policies=tuple(policies))

    def plan(self, ctx: PlanContext) -> PlanPart:
        part = PlanPart()
        live_policies = ctx.live.policy_by_name
        for policy in ctx.spec.policies:
            live = live_policies.get(policy.name)
            addr = address(self.kind, policy.name)
            if policy.state == "absent":
                if live is not None:
                    part.changes.append(
                        Change(
                            addr,
                            self.kind,
                            Action.DELETE,
                            PolicyRef(name=policy.name, id=live.id),
                            None,
                        )
                    )
                continue
            document = ctx.config.policies[policy.name].document
            if live is None:
                part.changes.append(
                    Change(
                        addr,
                        self.kind,
                        Action.CREATE,
                        None,
                        NewPolicy(
                            name=policy.name,
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
                            description=live.description,
                            content=live.document,
                            id=live.id,
                        ),
                        PolicyUpdate(
                            name=policy.name,
                            description=policy.description,
                            file=policy.file,
                            content=document,
                            id=live.id,
                        ),
                    )
                )
        declared = {p.name for p in ctx.spec.policies}
        for live in live_policies.values():
            if live.name not in declared:
                part.unmanaged.append(
                    Unmanaged(
                        address(self.kind, live.name), self.kind, f"SCP {live.id} not in org.yaml"
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


KIND = PolicyKind()
