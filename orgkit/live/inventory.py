"""Read a whole organization for ``orgkit import``: what a plan compares, and more.

A plan reads only what org.yaml declares (the tags of accounts whose tags it declares, the
policies of the types it uses). An import has no org.yaml to go by, so it reads everything it
can write down: the OU tree with each OU's tags, every account with its tags, every policy of
every type enabled on the root with its content, targets and tags, the targets of the
AWS-managed policies (to see where FullAWSAccess was detached), and the root's tags.

Read-only: List*/Describe* calls, one per parent, policy or tagged resource (never per account
for policies), in parallel within the throttle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.errors import AwsError
from orgkit.live.model import LiveAccount, LiveOrg, LiveOU, LivePolicy
from orgkit.live.reader import READ_HINT, parallel, read_organization
from orgkit.live.session import AwsContext, aws_error
from orgkit.names import POLICY_TYPES, ROOT_PATH

Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Inventory:
    """Everything ``orgkit import`` reads: the snapshot a plan compares (accounts with all their
    tags, customer policies of every enabled type with targets) plus what only an import needs.
    """

    live: LiveOrg
    caller_account_id: str
    region: str
    ou_tags: Mapping[str, Tags] = field(default_factory=dict)  # by OU id
    root_tags: Tags = ()
    policy_tags: Mapping[str, Tags] = field(default_factory=dict)  # customer policies, by id
    # AWS-managed policies (FullAWSAccess, RCPFullAWSAccess) of the enabled types, with targets.
    managed: tuple[LivePolicy, ...] = ()


def read_inventory(aws: AwsContext) -> Inventory:
    """Read the organization as the management account; refuse any other caller (a member
    account's credentials can describe the organization but not list it)."""
    caller = aws.caller_account_id()
    live = read_organization(aws)
    if caller != live.management_account_id:
        raise AwsError(
            f"these credentials belong to account {caller}, not to the management account "
            f"{live.management_account_id} of organization {live.organization_id}",
            hint="Run orgkit import with the management account's credentials (--profile).",
        )
    org = aws.client("organizations")
    try:
        ous = _ou_tree(org, live.root_id)
        parents = [live.root_id, *(ou.id for ou in ous)]
        accounts = [a for group in parallel(lambda p: _accounts(org, p), parents) for a in group]
        types = [t.aws for t in POLICY_TYPES if t.aws in live.policy_types]
        types += sorted(set(live.policy_types) - set(types))
        summaries = [
            p
            for policy_type in types
            for page in org.get_paginator("list_policies").paginate(Filter=policy_type)
            for p in page["Policies"]
        ]
        policies = parallel(lambda s: _policy(org, s), summaries)
        tagged = [a.id for a in accounts] + [ou.id for ou in ous] + [live.root_id]
        tagged += [p.id for p in policies if not p.aws_managed]
        tags = dict(zip(tagged, parallel(lambda i: _tags(org, i), tagged), strict=True))
    except (ClientError, BotoCoreError) as exc:
        raise aws_error("reading the organization for import", exc, READ_HINT) from exc
    accounts = [replace(a, tags=tags[a.id]) for a in accounts]
    customer = tuple(p for p in policies if not p.aws_managed)
    return Inventory(
        live=replace(live, ous=tuple(ous), accounts=tuple(accounts), policies=customer),
        caller_account_id=caller,
        region=aws.region,
        ou_tags={ou.id: tags[ou.id] for ou in ous},
        root_tags=tags[live.root_id],
        policy_tags={p.id: tags[p.id] for p in customer},
        managed=tuple(p for p in policies if p.aws_managed),
    )


def _ou_tree(org: Any, root_id: str) -> list[LiveOU]:
    found: list[LiveOU] = []
    level = [(root_id, ROOT_PATH)]
    while level:
        children = parallel(lambda parent: _ous(org, *parent), level)
        next_level = [ou for group in children for ou in group]
        found += next_level
        level = [(ou.id, ou.path) for ou in next_level]
    return found


def _ous(org: Any, parent_id: str, parent_path: str) -> list[LiveOU]:
    pages = org.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent_id)
    return [
        LiveOU(ou["Id"], ou["Name"], f"{parent_path.rstrip('/')}/{ou['Name']}", parent_id)
        for page in pages
        for ou in page["OrganizationalUnits"]
    ]


def _accounts(org: Any, parent_id: str) -> list[LiveAccount]:
    pages = org.get_paginator("list_accounts_for_parent").paginate(ParentId=parent_id)
    return [
        LiveAccount(a["Id"], a["Name"], a["Email"], a.get("Status", "ACTIVE"), parent_id)
        for page in pages
        for a in page["Accounts"]
    ]


def _policy(org: Any, summary: dict[str, Any]) -> LivePolicy:
    """A policy with its targets; with its content when it is a customer's."""
    managed = bool(summary.get("AwsManaged"))
    content = None
    if not managed:
        content = org.describe_policy(PolicyId=summary["Id"])["Policy"]["Content"]
    pages = org.get_paginator("list_targets_for_policy").paginate(PolicyId=summary["Id"])
    return LivePolicy(
        id=summary["Id"],
        name=summary["Name"],
        description=summary.get("Description", ""),
        aws_managed=managed,
        content=content,
        targets=tuple(sorted(t["TargetId"] for page in pages for t in page["Targets"])),
        type=summary["Type"],
    )


def _tags(org: Any, resource_id: str) -> Tags:
    pages = org.get_paginator("list_tags_for_resource").paginate(ResourceId=resource_id)
    return tuple(sorted((t["Key"], t["Value"]) for page in pages for t in page["Tags"]))
