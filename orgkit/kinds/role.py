"""``deployment_role``: the roles orgkit keeps in accounts (the StackSet role pair and each
project's CI deployment role), with their permissions boundary and GitHub's OIDC provider.

The documents are built by :mod:`orgkit.config.roles`; this module reads the live roles (one
AssumeRole per account, then about four IAM reads per role), compares and writes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.changes import Action, Change, Side, address
from orgkit.config.policies import minify
from orgkit.config.roles import GITHUB_THUMBPRINT, RoleSpec, fill_account_id, wanted_roles
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
from orgkit.kinds.policy import json_diff
from orgkit.live.model import LiveOrg, LiveRole
from orgkit.live.reader import MEMBER_WORKERS, parallel
from orgkit.live.session import AwsContext, aws_error
from orgkit.names import MANAGED_BY, PERMISSIONS_POLICY, aws_tags
from orgkit.policy_doc import equivalent


class WantedRoleState(Side):
    """A role as orgkit wants it in one account (``account_id`` None: created by this plan;
    ``access_role`` None: the management account itself)."""

    account_email: str | None
    account_id: str | None
    access_role: str | None
    role_name: str
    purpose: str
    trust: dict[str, Any]
    permissions: dict[str, Any]
    max_session_duration: int
    boundary_name: str | None
    boundary: dict[str, Any] | None
    oidc_provider: str | None


class LiveRoleState(Side):
    """A live role as the plan saw it, and which parts of it differ."""

    trust: Any
    permissions: Any
    max_session_duration: int | None
    boundary_arn: str | None
    boundary: Any
    oidc_provider: bool | None
    extra_policies: list[str]
    differs: list[str]


# -- read -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RoleProbe:
    """Which roles to look for in one account, and through which access role."""

    account_id: str
    access_role: str | None  # None: the management account itself (no AssumeRole)
    role_names: tuple[str, ...]
    oidc_provider: str | None = None


def read_roles(aws: AwsContext, probes: Iterable[RoleProbe]) -> list[LiveRole]:
    """Every probed role, present or not, read in parallel across accounts."""

    def one(probe: RoleProbe) -> list[LiveRole]:
        if probe.access_role is None:
            iam = aws.client("iam")
        else:
            iam = aws.members().reader(probe.account_id, probe.access_role, "iam")
        try:
            oidc = _has_oidc_provider(iam, probe) if probe.oidc_provider else None
            return [_read_role(iam, probe, name, oidc) for name in probe.role_names]
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(f"reading roles in account {probe.account_id}", exc) from exc

    return [role for roles in parallel(one, list(probes), MEMBER_WORKERS) for role in roles]


def _has_oidc_provider(iam: Any, probe: RoleProbe) -> bool:
    """One look per account for the OIDC provider its deployment role trusts."""
    arn = f"arn:aws:iam::{probe.account_id}:oidc-provider/{probe.oidc_provider}"
    try:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    except iam.exceptions.NoSuchEntityException:
        return False
    return True


def _read_role(iam: Any, probe: RoleProbe, name: str, oidc: bool | None) -> LiveRole:
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except iam.exceptions.NoSuchEntityException:
        return LiveRole(probe.account_id, name, exists=False)
    try:
        permissions = iam.get_role_policy(RoleName=name, PolicyName=PERMISSIONS_POLICY)[
            "PolicyDocument"
        ]
    except iam.exceptions.NoSuchEntityException:
        permissions = None
    extra = [
        f"inline:{n}"
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=name)
        for n in page["PolicyNames"]
        if n != PERMISSIONS_POLICY
    ]
    extra += [
        f"managed:{p['PolicyArn']}"
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
        for p in page["AttachedPolicies"]
    ]
    boundary_arn = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    boundary = _policy_document(iam, boundary_arn) if boundary_arn else None
    return LiveRole(
        account_id=probe.account_id,
        role_name=name,
        exists=True,
        trust=_decoded(role.get("AssumeRolePolicyDocument")),
        permissions=_decoded(permissions),
        max_session_duration=role.get("MaxSessionDuration"),
        boundary_arn=boundary_arn,
        boundary=boundary,
        oidc_provider=oidc,
        extra_policies=tuple(sorted(extra)),
    )


def _policy_document(iam: Any, arn: str) -> Any:
    try:
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
        version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])
    except iam.exceptions.NoSuchEntityException:
        return None
    return _decoded(version["PolicyVersion"]["Document"])


def _decoded(document: Any) -> Any:
    """IAM documents arrive parsed from boto3, or URL-encoded JSON from some endpoints."""
    if isinstance(document, str):
        return json.loads(unquote(document))
    return document


# -- apply ----------------------------------------------------------------------------------
def ensure_role(ctx: ApplyContext, change: Change) -> str:
    """Create or bring in shape one role (with its boundary and OIDC provider)."""
    after = change.new(WantedRoleState)
    before = change.old(LiveRoleState) if change.before is not None else None
    account_id, new = ctx.ids.account(after.account_email, after.account_id)
    if after.access_role is None:
        iam = ctx.aws.client("iam")
    else:
        iam = ctx.aws.members().client(account_id, after.access_role, "iam", new_account=new)
    create = change.action is Action.CREATE
    differs = set(before.differs) if before else set()

    def needs(part: str) -> bool:
        return create or part in differs

    def doc(document: Any) -> str:
        return minify(fill_account_id(document, account_id))

    name = after.role_name
    done = []
    if after.oidc_provider and needs("oidc_provider"):
        done.append(_ensure_oidc_provider(iam, after.oidc_provider))
    boundary_arn = None
    if after.boundary_name:
        boundary_arn = f"arn:aws:iam::{account_id}:policy/{after.boundary_name}"
        if needs("boundary"):
            done.append(
                _ensure_managed_policy(
                    ctx, iam, boundary_arn, after.boundary_name, doc(after.boundary)
                )
            )
    if create:
        kwargs: dict[str, Any] = {
            "RoleName": name,
            "AssumeRolePolicyDocument": doc(after.trust),
            "MaxSessionDuration": after.max_session_duration,
            "Description": f"orgkit: {after.purpose}",
            "Tags": aws_tags({MANAGED_BY[0]: MANAGED_BY[1], "Purpose": after.purpose}),
        }
        if boundary_arn:
            kwargs["PermissionsBoundary"] = boundary_arn
        iam.create_role(**kwargs)
        done.append("role created")
    else:
        if "trust" in differs:
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=doc(after.trust))
            done.append("trust updated")
        if "max_session_duration" in differs:
            iam.update_role(RoleName=name, MaxSessionDuration=after.max_session_duration)
            done.append("session duration updated")
        if boundary_arn and "boundary" in differs:
            iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=boundary_arn)
    for extra in before.extra_policies if before and not create else []:
        kind, _, name_or_arn = extra.partition(":")
        if kind == "inline":
            iam.delete_role_policy(RoleName=name, PolicyName=name_or_arn)
        else:
            iam.detach_role_policy(RoleName=name, PolicyArn=name_or_arn)
        done.append(f"removed {extra}")
    if needs("permissions"):
        iam.put_role_policy(
            RoleName=name, PolicyName=PERMISSIONS_POLICY, PolicyDocument=doc(after.permissions)
        )
        done.append("permissions set")
    return f"{account_id}: " + ", ".join(done)


def _ensure_oidc_provider(iam: Any, host: str) -> str:
    try:
        iam.create_open_id_connect_provider(
            Url=f"https://{host}",
            ClientIDList=["sts.amazonaws.com"],
            ThumbprintList=[GITHUB_THUMBPRINT],
            Tags=aws_tags({MANAGED_BY[0]: MANAGED_BY[1]}),
        )
    except iam.exceptions.EntityAlreadyExistsException:
        return f"OIDC provider {host} already there"
    return f"OIDC provider {host} created"


def _ensure_managed_policy(ctx: ApplyContext, iam: Any, arn: str, name: str, document: str) -> str:
    """Create the policy, or make ``document`` its default version (keeping within IAM's
    version quota)."""
    try:
        iam.get_policy(PolicyArn=arn)
    except iam.exceptions.NoSuchEntityException:
        iam.create_policy(
            PolicyName=name,
            PolicyDocument=document,
            Description="orgkit: permissions boundary",
            Tags=aws_tags({MANAGED_BY[0]: MANAGED_BY[1]}),
        )
        return f"boundary {name} created"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    if len(versions) >= ctx.quotas.iam_policy_versions:
        oldest = min(
            (v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"]
        )
        iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=document, SetAsDefault=True)
    return f"boundary {name} updated"


# -- plan -------------------------------------------------------------------------------------
def _role_state(live: LiveRole, differs: list[str]) -> LiveRoleState:
    return LiveRoleState(
        trust=live.trust,
        permissions=live.permissions,
        max_session_duration=live.max_session_duration,
        boundary_arn=live.boundary_arn,
        boundary=live.boundary,
        oidc_provider=live.oidc_provider,
        extra_policies=list(live.extra_policies),
        differs=differs,
    )


def _role_differences(wanted: RoleSpec, live: LiveRole, account_id: str) -> list[str]:
    """Which parts of a live role differ from what orgkit wants."""
    differ = []
    if not equivalent(live.trust, wanted.trust):
        differ.append("trust")
    if not equivalent(live.permissions, wanted.permissions):
        differ.append("permissions")
    if live.max_session_duration != wanted.max_session_duration:
        differ.append("max_session_duration")
    if wanted.boundary_name is not None:
        arn = f"arn:aws:iam::{account_id}:policy/{wanted.boundary_name}"
        if live.boundary_arn != arn or not equivalent(live.boundary, wanted.boundary):
            differ.append("boundary")
    if wanted.oidc_provider is not None and live.oidc_provider is False:
        differ.append("oidc_provider")
    if live.extra_policies:
        differ.append("extra_policies")
    return differ


def trust_summary(trust: dict[str, Any]) -> list[str]:
    """Who may assume a role, one line a statement: principals, action, conditions."""
    lines = []
    statements = trust.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = statement.get("Principal", {})
        who = (
            "; ".join(
                f"{kind} {', '.join(v if isinstance(v, list) else [v])}"
                for kind, v in sorted(principal.items())
            )
            if isinstance(principal, dict)
            else str(principal)
        )
        conditions = [
            f"{key} {operator} {value if isinstance(value, str) else ', '.join(value)}"
            for operator, block in sorted(statement.get("Condition", {}).items())
            for key, value in sorted(block.items())
        ]
        action = statement.get("Action")
        actions = ", ".join(action) if isinstance(action, list) else action
        text = f"trusted by {who} ({actions})".replace("${AccountId}", "<the new account>")
        if conditions:
            text += " if " + " and ".join(conditions)
        lines.append(text)
    return lines


class RoleKind(ResourceKind):
    """orgkit's roles in each account: created, and put back in shape when their trust,
    permissions, session length, boundary or OIDC provider drift or a policy is added by
    hand (apply removes it: these roles are orgkit's alone)."""

    kind = "deployment_role"
    heading = "Roles in accounts"
    order = 60
    needs = frozenset()
    provides = frozenset({"roles"})
    destroy_rank = 6  # never planned: roles of removed accounts go with the account
    destroy_flag = "allow_destroy"
    belongs_to = "account"
    models: ClassVar[Mapping[Action, SideModels]] = {
        Action.CREATE: (None, WantedRoleState),
        Action.UPDATE: (LiveRoleState, WantedRoleState),
    }

    def read(self, ctx: ReadContext, live: LiveOrg) -> LiveOrg:
        """The roles orgkit wants in each active account that exists (and in the management
        account), with one OIDC provider look-up per account that needs one."""
        spec = ctx.config.spec
        # The accounts as listed (ctx.structure), not the account kind's result: roles are read
        # while the accounts' tags still are. With --target, only the targeted accounts' roles
        # (and the management account's): the plan keeps only their changes.
        active = {
            a.email.lower(): a.id for a in ctx.targeted_accounts(live) if a.status == "ACTIVE"
        }
        probes: dict[str, RoleProbe] = {}
        for wanted in wanted_roles(
            spec,
            ctx.config.execution_permissions,
            live.management_account_id,
            live.organization_id,
            active,
        ):
            if wanted.account_id is None:
                continue
            probe = probes.get(wanted.account_id) or RoleProbe(
                wanted.account_id, wanted.access_role, ()
            )
            probes[wanted.account_id] = replace(
                probe,
                role_names=(*probe.role_names, wanted.role.role_name),
                oidc_provider=probe.oidc_provider or wanted.role.oidc_provider,
            )
        return replace(live, roles=tuple(read_roles(ctx.aws, probes.values())))

    def plan(self, ctx: PlanContext) -> PlanPart:
        part = PlanPart()
        live_ids = {email: a.id for email, a in ctx.live.account_by_email.items()}
        for wanted in wanted_roles(
            ctx.spec,
            ctx.config.execution_permissions,
            ctx.live.management_account_id,
            ctx.live.organization_id,
            live_ids,
        ):
            owner = wanted.account.email.lower() if wanted.account else "management"
            addr = address(self.kind, owner, wanted.role.role_name)
            after = WantedRoleState(
                account_email=wanted.account.email.lower() if wanted.account else None,
                account_id=wanted.account_id,
                access_role=wanted.access_role,
                **wanted.role.to_dict(),
            )
            if wanted.account_id is None:
                part.changes.append(Change(addr, self.kind, Action.CREATE, None, after))
                continue
            live = ctx.live.role(wanted.account_id, wanted.role.role_name)
            if live is None:
                # Not read: the account is closed or unreachable; plan says nothing it can't know.
                continue
            if not live.exists:
                part.changes.append(Change(addr, self.kind, Action.CREATE, None, after))
                continue
            differ = _role_differences(wanted.role, live, wanted.account_id)
            if differ:
                part.changes.append(
                    Change(addr, self.kind, Action.UPDATE, _role_state(live, differ), after)
                )
        return part

    @property
    def handlers(self) -> Mapping[Action, BatchHandler]:
        handler = one_at_a_time(ensure_role)
        return {Action.CREATE: handler, Action.UPDATE: handler}

    def differing_fields(self, change: Change) -> list[str] | None:
        """What the plan found different (trust, permissions, boundary...): the live side says."""
        before = change.before
        return list(before.differs) if isinstance(before, LiveRoleState) else None

    def describe(self, change: Change) -> list[str]:
        after = change.new(WantedRoleState)
        if change.action is Action.CREATE:
            where = after.account_id or "the new account"
            extras = [f"boundary {after.boundary_name}"] if after.boundary_name else []
            if after.oidc_provider:
                extras.append(f"OIDC provider {after.oidc_provider}")
            suffix = f" ({', '.join(extras)})" if extras else ""
            return [f"{after.purpose} role in {where}{suffix}", *trust_summary(after.trust)]
        before = change.old(LiveRoleState)
        lines = []
        for part in before.differs:
            if part in ("trust", "permissions", "boundary"):
                lines.append(f"{part}:")
                lines += json_diff(getattr(before, part), getattr(after, part))
                if part == "trust":
                    lines += trust_summary(after.trust)
            elif part == "oidc_provider":
                lines.append(f"OIDC provider {after.oidc_provider} is missing")
            elif part == "extra_policies":
                lines += [f"remove {extra} (not orgkit's)" for extra in before.extra_policies]
            else:
                lines.append(f"{part}: {getattr(before, part)} -> {getattr(after, part)}")
        return lines


KIND = RoleKind()
