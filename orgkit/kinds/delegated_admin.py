"""``delegated_admin``: the account each security service is administered from.

GuardDuty and Security Hub are delegated through their own EnableOrganizationAdminAccount
(which registers the account with Organizations, as AWS documents for both); AWS Config and IAM
Access Analyzer through Organizations' RegisterDelegatedAdministrator. The per-region set-up of
GuardDuty and Security Hub is the ``security_service`` kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.changes import Action, Change, Side, Unmanaged, address
from orgkit.config.models import SERVICE_PRINCIPALS
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

KIND_NAME = "delegated_admin"
# Services whose own API designates the administrator (and registers it with Organizations).
OWN_API = {"guardduty": "guardduty", "securityhub": "securityhub"}


class DelegatedAdmin(Side):
    """A service's delegated administrator (account_id empty: created by this apply)."""

    service: str
    principal: str
    account: str
    account_id: str


def register(ctx: ApplyContext, change: Change) -> str:
    """The service's EnableOrganizationAdminAccount in the home region, or Organizations'
    RegisterDelegatedAdministrator."""
    after = change.new(DelegatedAdmin)
    account_id, _ = ctx.ids.account(after.account, after.account_id or None)
    if after.service in OWN_API:
        client = ctx.aws.client(OWN_API[after.service], ctx.home_region)
        client.enable_organization_admin_account(AdminAccountId=account_id)
    else:
        ctx.aws.client("organizations").register_delegated_administrator(
            AccountId=account_id, ServicePrincipal=after.principal
        )
    return f"administered from {account_id}"


def delegated(live: LiveOrg) -> dict[str, str] | None:
    """Service principal -> delegated administrator account id (None: not read)."""
    value = live.resources.get(KIND_NAME)
    return dict(value) if value is not None else None


def read_delegated(org: Any) -> dict[str, str]:
    """ListDelegatedAdministrators, then ListDelegatedServicesForAccount per administrator."""
    pages = org.get_paginator("list_delegated_administrators").paginate()
    admins = [a["Id"] for page in pages for a in page["DelegatedAdministrators"]]
    found: dict[str, str] = {}
    for account_id in sorted(admins):
        services = org.get_paginator("list_delegated_services_for_account").paginate(
            AccountId=account_id
        )
        for page in services:
            for service in page["DelegatedServices"]:
                found[service["ServicePrincipal"]] = account_id
    return found


class DelegatedAdminKind(ResourceKind):
    """Delegated administrators org.yaml names; a different live one is a warning (moving a
    security service's administration is done by hand, docs/security.md)."""

    kind = KIND_NAME
    heading = "Delegated administrators"
    order = 45  # after accounts (the administrator must exist)
    needs = frozenset()
    provides = frozenset({"resources"})
    destroy_rank = 91  # never planned: orgkit does not deregister administrators
    destroy_flag = "allow_destroy"
    models: ClassVar[Mapping[Action, SideModels]] = {Action.CREATE: (None, DelegatedAdmin)}

    def read(self, ctx: ReadContext, live: LiveOrg) -> LiveOrg:
        """When org.yaml has a security section: 1 + one call per administrator account."""
        if ctx.config.spec.security is None:
            return live
        try:
            found = read_delegated(ctx.aws.client("organizations"))
        except (ClientError, BotoCoreError) as exc:
            raise aws_error("reading the delegated administrators", exc, READ_HINT) from exc
        return replace(live, resources={**live.resources, KIND_NAME: tuple(sorted(found.items()))})

    def plan(self, ctx: PlanContext) -> PlanPart:
        part = PlanPart()
        security = ctx.spec.security
        live = delegated(ctx.live)
        if security is None or live is None:
            return part
        for service, email in security.delegated_admins.items():
            principal = SERVICE_PRINCIPALS[service]
            account = ctx.live.account_by_email.get(email.lower())
            current = live.get(principal)
            if current is None:
                part.changes.append(
                    Change(
                        address(self.kind, principal),
                        self.kind,
                        Action.CREATE,
                        None,
                        DelegatedAdmin(
                            service=service,
                            principal=principal,
                            account=email.lower(),
                            account_id=account.id if account else "",
                        ),
                    )
                )
            elif account is None or current != account.id:
                name = ctx.live.target_name(current)
                part.warnings.append(
                    f"{service} is administered from {name}, org.yaml says {email}: orgkit does "
                    "not move a security service's administration (see docs/security.md)"
                )
        declared = {SERVICE_PRINCIPALS[s] for s in security.delegated_admins}
        for principal, account_id in sorted(live.items()):
            if principal not in declared:
                part.unmanaged.append(
                    Unmanaged(
                        address(self.kind, principal),
                        self.kind,
                        f"administered from {ctx.live.target_name(account_id)}, not in org.yaml",
                    )
                )
        return part

    @property
    def handlers(self) -> Mapping[Action, BatchHandler]:
        return {Action.CREATE: one_at_a_time(register)}

    def describe(self, change: Change) -> list[str]:
        after = change.new(DelegatedAdmin)
        how = (
            f"{after.service} EnableOrganizationAdminAccount"
            if after.service in OWN_API
            else "RegisterDelegatedAdministrator"
        )
        who = f"{after.account} ({after.account_id or 'created by this apply'})"
        return [f"{after.principal} administered from {who}, by {how}"]


KIND = DelegatedAdminKind()
