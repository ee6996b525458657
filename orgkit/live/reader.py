"""Read the organization itself: its id, management account, feature set and root.

Everything inside it (OUs, accounts, policies, roles, budgets, stack sets) is read by the kind
that manages it (:mod:`orgkit.kinds`), concurrently where the kinds allow
(:mod:`orgkit.live.schedule`), into the snapshot this starts. The per-parent, per-policy and
per-resource reads below are shared by the kinds and import; the OU tree and the accounts are
walked together (:func:`read_structure`), once a run (:class:`SharedReads`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.errors import AwsError
from orgkit.live.model import LiveAccount, LiveOrg, LiveOU, LivePolicy
from orgkit.live.session import AwsContext, aws_error, error_code
from orgkit.names import ROOT_PATH, SCP

T = TypeVar("T")
R = TypeVar("R")

# Organizations throttles most list calls to a few per second per API (orgkit paces them:
# orgkit.live.pacing); a few workers per API keep its rate busy through the latency.
MAX_WORKERS = 4
# Reads inside member accounts: IAM throttles per account, so reads of different accounts run
# side by side; this many at once keeps latency, not a rate, from setting the time.
MEMBER_WORKERS = 32
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


@dataclass(frozen=True)
class Structure:
    """The OU tree and the accounts under the root and every OU (no tags)."""

    ous: tuple[LiveOU, ...]
    accounts: tuple[LiveAccount, ...]


def read_structure(
    org: Any,
    root_id: str,
    workers: int = MAX_WORKERS,
    on_accounts: Callable[[list[LiveAccount], str], None] = lambda accounts, path: None,
) -> Structure:
    """The OU tree and every parent's accounts, pipelined: a parent's accounts are listed as
    soon as the parent is found, while the tree below it is still being walked, each API on its
    own pool; ``on_accounts`` gets each parent's accounts and path as they arrive (to start reads
    that need them). The result is in the order :func:`read_ou_tree` and a per-parent listing in
    that order give (breadth first), whatever order the answers came in."""
    ous_of: dict[str, list[LiveOU]] = {}
    accounts_of: dict[str, list[LiveAccount]] = {}
    with (
        ThreadPoolExecutor(workers, "ous") as ou_pool,
        ThreadPoolExecutor(workers, "accounts") as account_pool,
    ):
        running: dict[Future[Any], tuple[str, str, str]] = {}

        def visit(parent_id: str, parent_path: str) -> None:
            running[ou_pool.submit(_ous_for_parent, org, parent_id, parent_path)] = (
                "ous",
                parent_id,
                parent_path,
            )
            running[account_pool.submit(accounts_for_parent, org, parent_id)] = (
                "accounts",
                parent_id,
                parent_path,
            )

        visit(root_id, ROOT_PATH)
        try:
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    what, parent_id, parent_path = running.pop(future)
                    if what == "accounts":
                        accounts_of[parent_id] = future.result()
                        on_accounts(accounts_of[parent_id], parent_path)
                        continue
                    children = future.result()
                    ous_of[parent_id] = children
                    for ou in children:
                        visit(ou.id, ou.path)
        finally:
            for future in running:
                future.cancel()
    ous: list[LiveOU] = []
    level = [root_id]
    while level:
        found = [ou for parent in level for ou in ous_of[parent]]
        ous += found
        level = [ou.id for ou in found]
    parents = [root_id, *(ou.id for ou in ous)]
    return Structure(tuple(ous), tuple(a for p in parents for a in accounts_of[p]))


class SharedReads:
    """Reads that several kinds use, made once per run: the first kind to ask reads, the
    others wait for its answer (or its error)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[str, Future[Any]] = {}
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._groups: dict[str, dict[str, Future[Any]]] = {}

    def submit(self, group: str, key: str, read: Callable[[], Any]) -> None:
        """Start ``read()`` in ``group``'s pool (one per group, :data:`MAX_WORKERS` wide)."""
        with self._lock:
            pool = self._pools.get(group)
            if pool is None:
                pool = self._pools[group] = ThreadPoolExecutor(MAX_WORKERS, group)
            self._groups.setdefault(group, {})[key] = pool.submit(read)

    def results(self, group: str) -> dict[str, Any]:
        """Every result of ``group`` by key, once all are in; the first error raises."""
        with self._lock:
            futures = dict(self._groups.get(group, {}))
        return {key: future.result() for key, future in futures.items()}

    def close(self) -> None:
        """Cancel what has not started (after a failed read) and let the pools' threads go."""
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=False, cancel_futures=True)

    def once(self, key: str, read: Callable[[], T]) -> T:
        """``read()`` the first time ``key`` is asked for; its result (or error) after."""
        with self._lock:
            future = self._futures.get(key)
            first = future is None
            if future is None:
                future = self._futures[key] = Future()
        if first:
            try:
                future.set_result(read())
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()  # type: ignore[no-any-return]


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
