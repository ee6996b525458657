"""``trusted_access``: AWS services trusted in the organization (EnableAWSServiceAccess), those
``security:`` needs (the trail's CloudTrail, the delegated services) and any it lists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.changes import Action, Change, Side, Unmanaged, address
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

KIND_NAME = "trusted_access"


class TrustedService(Side):
    """A service principal to trust in the organization."""

    service: str


def enable(ctx: ApplyContext, change: Change) -> str:
    """EnableAWSServiceAccess."""
    service = change.new(TrustedService).service
    ctx.aws.client("organizations").enable_aws_service_access(ServicePrincipal=service)
    return "enabled"


def trusted(live: LiveOrg) -> tuple[str, ...] | None:
    """The trusted service principals as read (None: not read, org.yaml declares none)."""
    value = live.resources.get(KIND_NAME)
    return tuple(value) if value is not None else None


class TrustedAccessKind(ResourceKind):
    """Trusted access for the services org.yaml needs; others are reported, never disabled."""

    kind = KIND_NAME
    heading = "Trusted services"
    order = 15  # after policy types, before OUs; before anything that needs it
    needs = frozenset()
    provides = frozenset({"resources"})
    destroy_rank = 90  # never planned: orgkit does not disable trusted access
    destroy_flag = "allow_destroy"
    models: ClassVar[Mapping[Action, SideModels]] = {Action.CREATE: (None, TrustedService)}

    def read(self, ctx: ReadContext, live: LiveOrg) -> LiveOrg:
        """One paged ListAWSServiceAccessForOrganization, when org.yaml has a security section."""
        if ctx.config.spec.security is None:
            return live
        org = ctx.aws.client("organizations")
        try:
            pages = org.get_paginator("list_aws_service_access_for_organization").paginate()
            enabled = sorted(
                s["ServicePrincipal"] for page in pages for s in page["EnabledServicePrincipals"]
            )
        except (ClientError, BotoCoreError) as exc:
            raise aws_error("reading the trusted services", exc, READ_HINT) from exc
        return replace(live, resources={**live.resources, KIND_NAME: tuple(enabled)})

    def plan(self, ctx: PlanContext) -> PlanPart:
        part = PlanPart()
        security = ctx.spec.security
        enabled = trusted(ctx.live)
        if security is None or enabled is None:
            return part
        wanted = security.principals()
        for service in wanted:
            if service not in enabled:
                part.changes.append(
                    Change(
                        address(self.kind, service),
                        self.kind,
                        Action.CREATE,
                        None,
                        TrustedService(service=service),
                    )
                )
        for service in sorted(set(enabled) - set(wanted)):
            part.unmanaged.append(
                Unmanaged(address(self.kind, service), self.kind, "trusted, not in org.yaml")
            )
        return part

    @property
    def handlers(self) -> Mapping[Action, BatchHandler]:
        return {Action.CREATE: one_at_a_time(enable)}

    def describe(self, change: Change) -> list[str]:
        return [f"trust {change.new(TrustedService).service} in the organization"]


KIND = TrustedAccessKind()
