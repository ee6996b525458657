"""Build a :class:`LiveOrg` with the fewest Organizations calls, in parallel where it helps.

Call budget for an org with O OUs, A accounts and P customer SCPs (pages aside):
2 (organization, roots) + O + 1 (OU tree, level by level) + O + 1 (accounts per parent)
+ 1 + 2P (policies, their content and targets) + 1 (pending CreateAccount requests)
+ one ListTagsForResource per account whose tags org.yaml declares. Nothing is read per
account unless org.yaml asks for a comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from orgkit.errors import AwsError
from orgkit.live.model import (
    ROOT_PATH,
    LiveAccount,
    LiveOrg,
    LiveOU,
    LivePolicy,
    PendingAccount,
)
from orgkit.live.session import AwsContext

T = TypeVar("T")
R = TypeVar("R")

SCP = "SERVICE_CONTROL_POLICY"
# Organizations throttles most list calls to a few per second per API; more workers than this
# only earn TooManyRequestsException and backoff.
MAX_WORKERS = 4


def read_org(aws: AwsContext, tag_emails: Iterable[str] = ()) -> LiveOrg:
    """Read the organization; ``tag_emails`` names the accounts whose tags are compared."""
    org = aws.client("organizations")
    try:
        description = org.describe_organization()["Organization"]
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code == "AWSOrganizationsNotInUseException":
            raise AwsError(
                "the caller's account is not in an AWS Organization",
                hint="Create the organization first (aws organizations create-organization "
                "--feature-set ALL), or try `orgkit sandbox`.",
            ) from exc
        raise _aws_error("describe the organization", exc) from exc

    with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
        try:
            root = org.list_roots()["Roots"][0]
            ous = _read_ou_tree(org, root["Id"], pool)
            parents = [root["Id"], *(ou.id for ou in ous)]
            accounts = _flatten(_map(pool, lambda p: _accounts_for_parent(org, p), parents))
            policies = _read_policies(org, pool)
            pending = _pending_accounts(org)
            wanted = {email.lower() for email in tag_emails}
            tagged = [a for a in accounts if a.email.lower() in wanted]
            tag_sets = dict(
                zip(
                    [a.id for a in tagged],
                    _map(pool, lambda a: _tags(org, a.id), tagged),
                    strict=True,
                )
            )
        except ClientError as exc:
            raise _aws_error("read the organization", exc) from exc

    accounts = [
        LiveAccount(a.id, a.name, a.email, a.status, a.parent_id, tag_sets.get(a.id))
        for a in accounts
    ]
    policy_types = tuple(
        sorted(t["Type"] for t in root.get("PolicyTypes", []) if t.get("Status") == "ENABLED")
    )
    return LiveOrg(
        organization_id=description["Id"],
        management_account_id=description["MasterAccountId"],
        feature_set=description.get("FeatureSet", "ALL"),
        root_id=root["Id"],
        policy_types=policy_types,
        ous=tuple(ous),
        accounts=tuple(accounts),
        policies=tuple(policies),
        pending_accounts=tuple(pending),
    )


def _read_ou_tree(org: Any, root_id: str, pool: ThreadPoolExecutor) -> list[LiveOU]:
    """Breadth-first, one level at a time, each level's parents listed in parallel."""
    found: list[LiveOU] = []
    level = [(root_id, ROOT_PATH)]
    while level:
        children = _map(pool, lambda parent: _ous_for_parent(org, *parent), level)
        next_level = [ou for group in children for ou in group]
        found += next_level
        level = [(ou.id, ou.path) for ou in next_level]
    return found


def _ous_for_parent(org: Any, parent_id: str, parent_path: str) -> list[LiveOU]:
    pages = org.get_paginator("list_organizational_units_for_parent").paginate(
        ParentId=parent_id
    )
    return [
        LiveOU(
            id=ou["Id"],
            name=ou["Name"],
            path=f"{parent_path.rstrip('/')}/{ou['Name']}",
            parent_id=parent_id,
        )
        for page in pages
        for ou in page["OrganizationalUnits"]
    ]


def _accounts_for_parent(org: Any, parent_id: str) -> list[LiveAccount]:
    pages = org.get_paginator("list_accounts_for_parent").paginate(ParentId=parent_id)
    return [
        LiveAccount(
            id=a["Id"],
            name=a["Name"],
            email=a["Email"],
            status=a.get("Status", "ACTIVE"),
            parent_id=parent_id,
        )
        for page in pages
        for a in page["Accounts"]
    ]


def _read_policies(org: Any, pool: ThreadPoolExecutor) -> list[LivePolicy]:
    """Customer SCPs with content and targets: 2 calls a policy, never one per account."""
    pages = org.get_paginator("list_policies").paginate(Filter=SCP)
    summaries = [p for page in pages for p in page["Policies"]]
    customer = [p for p in summaries if not p.get("AwsManaged")]

    def details(summary: dict[str, Any]) -> LivePolicy:
        content = org.describe_policy(PolicyId=summary["Id"])["Policy"]["Content"]
        targets = org.get_paginator("list_targets_for_policy").paginate(
            PolicyId=summary["Id"]
        )
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
    return managed + _map(pool, details, customer)


def _pending_accounts(org: Any) -> list[PendingAccount]:
    pages = org.get_paginator("list_create_account_status").paginate(States=["IN_PROGRESS"])
    return [
        PendingAccount(request_id=s["Id"], account_name=s.get("AccountName", ""))
        for page in pages
        for s in page["CreateAccountStatuses"]
    ]


def _tags(org: Any, resource_id: str) -> tuple[tuple[str, str], ...]:
    pages = org.get_paginator("list_tags_for_resource").paginate(ResourceId=resource_id)
    return tuple(sorted((t["Key"], t["Value"]) for page in pages for t in page["Tags"]))


def _map(pool: ThreadPoolExecutor, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    return list(pool.map(fn, items))


def _flatten(groups: list[list[T]]) -> list[T]:
    return [item for group in groups for item in group]


def _aws_error(doing: str, exc: ClientError) -> AwsError:
    error = exc.response.get("Error", {})
    return AwsError(
        f"cannot {doing}: {error.get('Code', 'Error')}: {error.get('Message', exc)}",
        hint="Check that the credentials are the management account's and allow "
        "organizations:Describe*/List*.",
    )
