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

from botocore.exceptions import BotoCoreError, ClientError

from orgkit.errors import AwsError
from orgkit.live.model import LiveOrg, LivePolicy
from orgkit.live.reader import (
    READ_HINT,
    accounts_for_parent,
    parallel,
    policy_details,
    policy_summaries,
    read_organization,
    read_ou_tree,
    tags_of,
)
from orgkit.live.session import AwsContext, aws_error
from orgkit.names import POLICY_TYPES

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
        ous = read_ou_tree(org, live.root_id)
        parents = [live.root_id, *(ou.id for ou in ous)]
        accounts = [
            a for group in parallel(lambda p: accounts_for_parent(org, p), parents) for a in group
        ]
        types = [t.aws for t in POLICY_TYPES if t.aws in live.policy_types]
        types += sorted(set(live.policy_types) - set(types))
        policies = parallel(lambda s: policy_details(org, s), policy_summaries(org, types))
        tagged = [a.id for a in accounts] + [ou.id for ou in ous] + [live.root_id]
        tagged += [p.id for p in policies if not p.aws_managed]
        tags = dict(zip(tagged, parallel(lambda i: tags_of(org, i), tagged), strict=True))
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
