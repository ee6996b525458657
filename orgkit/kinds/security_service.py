"""``security_service``: GuardDuty and Security Hub administered from their delegated account
in every allowed region, with auto-enable for member accounts.

Per region, from the management account: the service's EnableOrganizationAdminAccount. Inside
the administrator account (through its access role): GuardDuty's detector with the declared
finding frequency (members follow the administrator's) and UpdateOrganizationConfiguration
(AutoEnableOrganizationMembers ALL); Security Hub's UpdateOrganizationConfiguration (AutoEnable)
and, in the home region, a finding aggregator linking the other allowed regions, so the
administrator sees every account's and every region's findings (GuardDuty's among them) in one
place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError

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
from orgkit.live.reader import parallel
from orgkit.live.session import aws_error, error_code

KIND_NAME = "security_service"
SERVICES = ("guardduty", "securityhub")
GUARDDUTY_AUTO_ENABLE = "ALL"  # every member account, existing and new
# Security Hub's answers when it is not enabled in the account asking.
NOT_ENABLED = {"InvalidAccessException", "ResourceNotFoundException", "AccessDeniedException"}


class ServiceSetup(Side):
    """A service in one region as org.yaml wants it, or as it is (``admin_account_id`` empty:
    no administrator in that region; other fields None: not set up)."""

    service: str
    region: str
    account: str
    account_id: str
    access_role: str  # how orgkit works inside the administrator account
    auto_enable: str | None
    finding_frequency: str | None = None  # GuardDuty
    aggregated_regions: list[str] | None = None  # Security Hub, home region only


@dataclass(frozen=True)
class Probe:
    """What to read for one service in one region."""

    service: str
    region: str
    account_id: str  # the declared administrator, as live
    access_role: str
    aggregate: bool


def read_setup(ctx: ReadContext, probe: Probe) -> ServiceSetup:
    """The administrator in the region (management account), then its set-up inside the
    administrator account."""
    aws = ctx.aws
    try:
        listing = aws.client(probe.service, probe.region).list_organization_admin_accounts()
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(
            f"reading the {probe.service} administrator in {probe.region}", exc
        ) from exc
    admins = _admins(listing)
    admin = probe.account_id if probe.account_id in admins else (admins[0] if admins else "")
    live = ServiceSetup(
        service=probe.service,
        region=probe.region,
        account="",
        account_id=admin,
        access_role=probe.access_role,
        auto_enable=None,
    )
    if not admin or admin != probe.account_id:  # none yet, or not the declared account
        return live
    client = aws.members().reader(admin, probe.access_role, probe.service, region=probe.region)
    doing = f"reading {probe.service} in {probe.region} of account {admin}"
    try:
        if probe.service == "guardduty":
            return _read_guardduty(client, live)
        return _read_securityhub(client, live, probe.aggregate)
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(doing, exc) from exc


def _admins(listing: dict[str, Any]) -> list[str]:
    """The enabled administrators in a ListOrganizationAdminAccounts answer (GuardDuty says
    AdminAccountId/AdminStatus, Security Hub AccountId/Status)."""
    return [
        str(a.get("AdminAccountId") or a.get("AccountId"))
        for a in listing.get("AdminAccounts", [])
        if a.get("AdminStatus", a.get("Status", "ENABLED")) == "ENABLED"
    ]


def _read_guardduty(client: Any, live: ServiceSetup) -> ServiceSetup:
    detectors = client.list_detectors().get("DetectorIds", [])
    if not detectors:
        return live
    detector = client.get_detector(DetectorId=detectors[0])
    organization = client.describe_organization_configuration(DetectorId=detectors[0])
    auto = organization.get("AutoEnableOrganizationMembers") or (
        "NEW" if organization.get("AutoEnable") else "NONE"
    )
    return live.model_copy(
        update={
            "auto_enable": auto,
            "finding_frequency": detector.get("FindingPublishingFrequency"),
        }
    )


def _read_securityhub(client: Any, live: ServiceSetup, aggregate: bool) -> ServiceSetup:
    try:
        organization = client.describe_organization_configuration()
    except ClientError as exc:
        if error_code(exc) in NOT_ENABLED:
            return live
        raise
    regions: list[str] | None = None
    if aggregate:
        arns = [
            a["FindingAggregatorArn"]
            for a in client.list_finding_aggregators().get("FindingAggregators", [])
        ]
        if arns:
            found = client.get_finding_aggregator(FindingAggregatorArn=arns[0])
            regions = sorted(found.get("Regions", []))
    return live.model_copy(
        update={
            "auto_enable": "true" if organization.get("AutoEnable") else "false",
            "aggregated_regions": regions,
        }
    )


def wanted(
    service: str, region: str, email: str, account_id: str, ctx: PlanContext
) -> ServiceSetup:
    """A service in a region as org.yaml wants it."""
    security = ctx.spec.security
    assert security is not None  # noqa: S101  # planned only with a security section
    declared = ctx.spec.account_by_email(email)
    home = ctx.spec.organization.home_region
    others = sorted(r for r in ctx.spec.allowed_regions if r != home)
    return ServiceSetup(
        service=service,
        region=region,
        account=email.lower(),
        account_id=account_id,
        access_role=ctx.spec.access_role(declared) if declared else "",
        auto_enable=GUARDDUTY_AUTO_ENABLE if service == "guardduty" else "true",
        finding_frequency=security.guardduty_finding_frequency if service == "guardduty" else None,
        aggregated_regions=others
        if service == "securityhub" and region == home and others
        else None,
    )


# -- apply ----------------------------------------------------------------------------------
def set_up(ctx: ApplyContext, change: Change) -> str:
    """Designate the administrator in the region if needed, then set the service up inside it."""
    after = change.new(ServiceSetup)
    before = change.old(ServiceSetup) if change.before is not None else None
    account_id, new = ctx.ids.account(after.account, after.account_id or None)
    done = []
    if before is None or before.account_id != account_id:
        management = ctx.aws.client(after.service, after.region)
        # In the home region, delegated_admin designated it moments ago in this apply.
        if account_id not in _admins(management.list_organization_admin_accounts()):
            management.enable_organization_admin_account(AdminAccountId=account_id)
        done.append(f"administrator {account_id}")
    client = ctx.aws.members().client(
        account_id, after.access_role, after.service, new_account=new, region=after.region
    )
    if after.service == "guardduty":
        detectors = client.list_detectors().get("DetectorIds", [])
        if detectors:
            detector = detectors[0]
            client.update_detector(
                DetectorId=detector, Enable=True, FindingPublishingFrequency=after.finding_frequency
            )
        else:
            detector = client.create_detector(
                Enable=True, FindingPublishingFrequency=after.finding_frequency
            )["DetectorId"]
        client.update_organization_configuration(
            DetectorId=detector, AutoEnableOrganizationMembers=after.auto_enable
        )
        done.append(f"findings every {after.finding_frequency}, auto-enable {after.auto_enable}")
    else:
        try:
            client.describe_hub()
        except ClientError as exc:
            if error_code(exc) not in NOT_ENABLED:
                raise
            # No default standards: they need AWS Config recording in every account, which
            # orgkit does not set up, and they cost per check (docs/security.md).
            client.enable_security_hub(EnableDefaultStandards=False)
        client.update_organization_configuration(AutoEnable=after.auto_enable == "true")
        done.append(f"auto-enable {after.auto_enable}")
        if after.aggregated_regions is not None:
            arns = [
                a["FindingAggregatorArn"]
                for a in client.list_finding_aggregators().get("FindingAggregators", [])
            ]
            if arns:
                client.update_finding_aggregator(
                    FindingAggregatorArn=arns[0],
                    RegionLinkingMode="SPECIFIED_REGIONS",
                    Regions=after.aggregated_regions,
                )
            else:
                client.create_finding_aggregator(
                    RegionLinkingMode="SPECIFIED_REGIONS", Regions=after.aggregated_regions
                )
            done.append(f"findings of {', '.join(after.aggregated_regions)} aggregated here")
    return "; ".join(done)


class SecurityServiceKind(ResourceKind):
    """GuardDuty and Security Hub, per allowed region, as org.yaml's delegated admins say."""

    kind = KIND_NAME
    heading = "Security services"
    order = 47  # after the delegated administrators
    needs = frozenset({"accounts"})
    provides = frozenset({"resources"})
    destroy_rank = 92  # never planned: orgkit does not turn security services off
    destroy_flag = "allow_destroy"
    models: ClassVar[Mapping[Action, SideModels]] = {
        Action.CREATE: (None, ServiceSetup),
        Action.UPDATE: (ServiceSetup, ServiceSetup),
    }

    def read(self, ctx: ReadContext, live: LiveOrg) -> LiveOrg:
        """Per service and region: ListOrganizationAdminAccounts; inside the administrator
        (when it is the declared one): 2-3 reads. In parallel."""
        spec = ctx.config.spec
        if spec.security is None:
            return live
        probes = []
        for service in SERVICES:
            email = spec.security.delegated_admins.get(service)  # type: ignore[call-overload]
            if email is None:
                continue
            account = live.account_by_email.get(email.lower())
            declared = spec.account_by_email(email)
            for region in spec.allowed_regions:
                probes.append(
                    Probe(
                        service=service,
                        region=region,
                        account_id=account.id if account else "",
                        access_role=spec.access_role(declared) if declared else "",
                        aggregate=region == spec.organization.home_region,
                    )
                )
        found = parallel(lambda probe: read_setup(ctx, probe), probes)
        return replace(
            live,
            resources={
                **live.resources,
                KIND_NAME: tuple((f"{s.service}@{s.region}", s.dump()) for s in found),
            },
        )

    def plan(self, ctx: PlanContext) -> PlanPart:
        part = PlanPart()
        security = ctx.spec.security
        if security is None or KIND_NAME not in ctx.live.resources:
            return part
        live = {
            key: ServiceSetup.model_validate(value) for key, value in ctx.live.resources[KIND_NAME]
        }
        for service in SERVICES:
            email = security.delegated_admins.get(service)  # type: ignore[call-overload]
            if email is None:
                continue
            account = ctx.live.account_by_email.get(email.lower())
            for region in ctx.spec.allowed_regions:
                want = wanted(service, region, email, account.id if account else "", ctx)
                have = live.get(f"{service}@{region}")
                addr = address(self.kind, service, region)
                if have is None or not have.account_id:
                    part.changes.append(Change(addr, self.kind, Action.CREATE, None, want))
                    continue
                if have.account_id != want.account_id:
                    part.warnings.append(
                        f"{service} in {region} is administered from "
                        f"{ctx.live.target_name(have.account_id)}, org.yaml says {email}: orgkit "
                        "does not move a security service's administration (docs/security.md)"
                    )
                    continue
                have = have.model_copy(
                    update={"account": want.account, "access_role": want.access_role}
                )
                if have != want:
                    part.changes.append(Change(addr, self.kind, Action.UPDATE, have, want))
        return part

    @property
    def handlers(self) -> Mapping[Action, BatchHandler]:
        return {Action.CREATE: one_at_a_time(set_up), Action.UPDATE: one_at_a_time(set_up)}

    def describe(self, change: Change) -> list[str]:
        after = change.new(ServiceSetup)
        who = after.account_id or "created by this apply"
        lines = [f"administered from {after.account} ({who}) in {after.region}"]
        before = change.old(ServiceSetup) if change.before is not None else None
        if before is None:
            lines.append(
                "creates the administrator's detector if it has none"
                if after.service == "guardduty"
                else "enables Security Hub in the administrator if needed (no default standards)"
            )
        for field in ("auto_enable", "finding_frequency", "aggregated_regions"):
            value = getattr(after, field)
            if value is None:
                continue
            old = getattr(before, field) if before is not None else None
            if before is None:
                lines.append(f"+ {field}: {value}")
            elif old != value:
                lines.append(f"{field}: {old} -> {value}")
        return lines


KIND = SecurityServiceKind()
