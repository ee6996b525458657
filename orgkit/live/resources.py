"""Read what orgkit keeps inside accounts: roles (per account, in parallel) and budgets
(all at once, from the management account where they live).

Only what org.yaml declares is read: the roles orgkit wants in each existing declared account
(one AssumeRole per account per run, then about four IAM reads per role), and the budgets whose
names carry orgkit's prefix.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from orgkit.errors import AwsError
from orgkit.live.member import MemberSessions
from orgkit.live.model import (
    BUDGET_PREFIX,
    PERMISSIONS_POLICY,
    LiveBudget,
    LiveNotification,
    LiveRole,
)
from orgkit.live.session import AwsContext

# Member-account reads go to different accounts' IAM, so they parallelise well; STS AssumeRole
# is the shared limit.
MAX_WORKERS = 8


@dataclass(frozen=True)
class RoleProbe:
    """Which roles to look for in one account, and through which access role."""

    account_id: str
    access_role: str | None  # None: the management account itself (no AssumeRole)
    role_names: tuple[str, ...]
    oidc_provider: str | None = None


def read_roles(
    aws: AwsContext, sessions: MemberSessions, probes: Iterable[RoleProbe]
) -> list[LiveRole]:
    """Every probed role, present or not, read in parallel across accounts."""
    probes = list(probes)

    def one(probe: RoleProbe) -> list[LiveRole]:
        if probe.access_role is None:
            iam = aws.client("iam")
        else:
            iam = sessions.client(probe.account_id, probe.access_role, "iam")
        try:
            oidc = _has_oidc_provider(iam, probe) if probe.oidc_provider else None
            return [_read_role(iam, probe, name, oidc) for name in probe.role_names]
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise AwsError(
                f"cannot read roles in account {probe.account_id}: "
                f"{error.get('Code')}: {error.get('Message')}"
            ) from exc

    with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
        return [role for roles in pool.map(one, probes) for role in roles]


def _has_oidc_provider(iam: Any, probe: RoleProbe) -> bool:
    """One look per account for the OIDC provider its deployment role trusts."""
    arn = f"arn:aws:iam::{probe.account_id}:oidc-provider/{probe.oidc_provider}"
    try:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchEntity":
            raise
        return False
    return True


def _read_role(iam: Any, probe: RoleProbe, name: str, oidc: bool | None) -> LiveRole:
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchEntity":
            return LiveRole(probe.account_id, name, exists=False)
        raise
    try:
        permissions = iam.get_role_policy(RoleName=name, PolicyName=PERMISSIONS_POLICY)[
            "PolicyDocument"
        ]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchEntity":
            raise
        permissions = None
    extra = [f"inline:{n}" for page in iam.get_paginator("list_role_policies").paginate(
                 RoleName=name) for n in page["PolicyNames"] if n != PERMISSIONS_POLICY]
    extra += [f"managed:{p['PolicyArn']}" for page in iam.get_paginator(
                  "list_attached_role_policies").paginate(RoleName=name)
              for p in page["AttachedPolicies"]]
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
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchEntity":
            return None
        raise
    return _decoded(version["PolicyVersion"]["Document"])


def _decoded(document: Any) -> Any:
    """IAM documents arrive parsed from boto3, or URL-encoded JSON from some endpoints."""
    if isinstance(document, str):
        import json
        from urllib.parse import unquote

        return json.loads(unquote(document))
    return document


def read_budgets(aws: AwsContext, management_account_id: str) -> list[LiveBudget]:
    """orgkit's budgets with their notifications and subscribers."""
    budgets = aws.client("budgets")
    try:
        pages = budgets.get_paginator("describe_budgets").paginate(
            AccountId=management_account_id
        )
        found = [b for page in pages for b in page.get("Budgets", [])
                 if b["BudgetName"].startswith(BUDGET_PREFIX)]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NotFoundException":  # no budgets at all
            return []
        raise AwsError(f"cannot read budgets: {exc}") from exc

    def details(budget: dict[str, Any]) -> LiveBudget:
        name = budget["BudgetName"]
        notifications = []
        for page in budgets.get_paginator("describe_notifications_for_budget").paginate(
            AccountId=management_account_id, BudgetName=name
        ):
            for notification in page.get("Notifications", []):
                subscribers = [
                    (s["SubscriptionType"], s["Address"])
                    for sub_page in budgets.get_paginator(
                        "describe_subscribers_for_notification"
                    ).paginate(AccountId=management_account_id, BudgetName=name,
                               Notification=notification)
                    for s in sub_page.get("Subscribers", [])
                ]
                notifications.append(LiveNotification(
                    type=notification["NotificationType"],
                    threshold=float(notification["Threshold"]),
                    comparison=notification["ComparisonOperator"],
                    threshold_type=notification.get("ThresholdType", "PERCENTAGE"),
                    subscribers=tuple(sorted(subscribers)),
                ))
        limit = budget.get("BudgetLimit", {})
        return LiveBudget(
            name=name,
            amount=float(limit.get("Amount", 0)),
            currency=limit.get("Unit", ""),
            time_unit=budget.get("TimeUnit", ""),
            linked_accounts=tuple(sorted(budget.get("CostFilters", {}).get("LinkedAccount", []))),
            notifications=tuple(sorted(notifications, key=lambda n: (n.type, n.threshold))),
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        try:
            return list(pool.map(details, found))
        except ClientError as exc:
            raise AwsError(f"cannot read budget notifications: {exc}") from exc
