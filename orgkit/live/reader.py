"""Read the organization itself: its id, management account, feature set and root.

Everything inside it (OUs, accounts, policies, roles, budgets, stack sets) is read by the kind
that manages it (:mod:`orgkit.kinds`), in the registry's order, into the snapshot this starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.errors import AwsError
from orgkit.live.model import LiveOrg
from orgkit.live.session import AwsContext, aws_error, error_code

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
