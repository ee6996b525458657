"""Read the organization itself: its id, management account, feature set and root.

Everything inside it (OUs, accounts, policies, roles, budgets, stack sets) is read by the kind
that manages it (:mod:`orgkit.kinds`), in the registry's order, into the snapshot this starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.errors import AwsError
from orgkit.live.model import LiveAccount, LiveOrg, LiveOU, LivePolicy
from orgkit.live.session import AwsContext, aws_error, error_code
from orgkit.names import ROOT_PATH, SCP

T = TypeVar("T")
R = TypeVar("R")

# Organizations throttles most list calls to a few per second per API; more workers than this
# only earn TooManyRequestsException and backoff.
MAX_WORKERS = 4
READ_HINT = (
    "Check that the credentials are the management account's and allow "
    "organizations:Describe*/List*."
)


def read_organization(aws: AwsContext) -> LiveOrg:
    """The organization and its root (two calls); nothing inside it yet."""
    org = aws.client("organizations")
    try:
        description = org.describe_organization()["Organization"]
        root = org.list_roots()["Roots"][0]
    except ClientError as exc:
        if error_code(exc) == "AWSOrganizationsNotInUseException":
            raise AwsError(
                "the caller's account is not in an AWS Organization",
                hint="Create the organization first (aws organizations create-organization "
                "--feature-set ALL), or try `orgkit sandbox`.",
            ) from exc
        raise aws_error("describing the organization", exc, READ_HINT) from exc
    except BotoCoreError as exc:
        raise aws_error("describing the organization", exc) from exc
    policy_types = tuple(
        sorted(t["Type"] for t in root.get("PolicyTypes", []) if t.get("Status") == "ENABLED")
    )
    return LiveOrg(
        organization_id=description["Id"],
        management_account_id=description["MasterAccountId"],
        feature_set=description.get("FeatureSet", "ALL"),
        root_id=root["Id"],
        policy_types=policy_types,
        ous=(),
        accounts=(),
        policies=(),
    )


def parallel(fn: Callable[[T], R], items: Iterable[T], workers: int = MAX_WORKERS) -> list[R]:
    """``fn`` over ``items`` in a pool of ``workers``, results in order; the first error raises."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


# -- the per-parent, per-policy and per-resource reads plan and import share -------------------
def read_ou_tree(org: Any, root_id: str) -> list[LiveOU]:
    """Breadth-first, one level at a time, each level's parents listed in parallel."""
    found: list[LiveOU] = []
    level = [(root_id, ROOT_PATH)]
    while level:
        children = parallel(lambda parent: _ous_for_parent(org, *parent), level)
        next_level = [ou for group in children for ou in group]
        found += next_level
        level = [(ou.id, ou.path) for ou in next_level]
    return found


def _ous_for_parent(org: Any, parent_id: str, parent_path: str) -> list[LiveOU]:
    pages = org.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent_id)
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


def accounts_for_parent(org: Any, parent_id: str) -> list[LiveAccount]:
    """The accounts directly under a parent (the root or an OU), without their tags."""
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


def tags_of(org: Any, resource_id: str) -> tuple[tuple[str, str], ...]:
    """An Organizations resource's tags (account, OU, root or policy), sorted."""
    pages = org.get_paginator("list_tags_for_resource").paginate(ResourceId=resource_id)
    return tuple(sorted((t["Key"], t["Value"]) for page in pages for t in page["Tags"]))


def policy_summaries(org: Any, policy_types: Iterable[str]) -> list[dict[str, Any]]:
    """ListPolicies of each type: one call (page) per type."""
    return [
        p
        for policy_type in policy_types
        for page in org.get_paginator("list_policies").paginate(Filter=policy_type)
        for p in page["Policies"]
    ]


def policy_details(org: Any, summary: dict[str, Any], *, content: bool = True) -> LivePolicy:
    """A policy with its targets, and its content (a customer policy's; two calls a policy)."""
    managed = bool(summary.get("AwsManaged"))
    document = None
    if content and not managed:
        document = org.describe_policy(PolicyId=summary["Id"])["Policy"]["Content"]
    targets = org.get_paginator("list_targets_for_policy").paginate(PolicyId=summary["Id"])
    return LivePolicy(
        id=summary["Id"],
        name=summary["Name"],
        description=summary.get("Description", ""),
        aws_managed=managed,
        content=document,
        targets=tuple(sorted(t["TargetId"] for page in targets for t in page["Targets"])),
        type=summary.get("Type", SCP),
    )
