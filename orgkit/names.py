"""Names and fixed values orgkit shares across stages, defined once.

AWS quotas live in :mod:`orgkit.quotas`; this module holds the names orgkit gives things and
the AWS constants it refers to.
"""

from __future__ import annotations

from dataclasses import dataclass

ROOT_PATH = "/"  # the organization's root, as orgkit names it (OUs are paths below it)
SCP = "SERVICE_CONTROL_POLICY"  # the Organizations policy type of service control policies
RCP = "RESOURCE_CONTROL_POLICY"
TAG_POLICY = "TAG_POLICY"
BACKUP_POLICY = "BACKUP_POLICY"
AI_OPT_OUT_POLICY = "AISERVICES_OPT_OUT_POLICY"
MANAGED_BY = ("ManagedBy", "orgkit")  # the tag on everything orgkit creates
PERMISSIONS_POLICY = "orgkit-permissions"  # the inline policy on each orgkit role
BUDGET_PREFIX = "orgkit-"  # orgkit's budgets in the management account


def managed_tags(*layers: dict[str, str]) -> dict[str, str]:
    """Tags for something orgkit creates: the layers merged in order, then ManagedBy."""
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update(layer)
    merged[MANAGED_BY[0]] = MANAGED_BY[1]
    return merged


def aws_tags(tags: dict[str, str]) -> list[dict[str, str]]:
    """Tags as AWS APIs take them: a sorted list of Key/Value pairs."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


@dataclass(frozen=True)
class PolicyType:
    """An AWS Organizations policy type as org.yaml names it and as AWS does."""

    name: str  # org.yaml's `type:` value
    aws: str  # the API's PolicyType / Filter / Type value
    label: str  # how plans and errors name a policy of this type
    plural: str
    grammar: str  # "iam" (SCPs, RCPs) or "management" (the @@assign family)
    managed: str | None = None  # the AWS-managed policy AWS attaches everywhere, if any


# In the order plans enable them and docs list them.
POLICY_TYPES: tuple[PolicyType, ...] = (
    PolicyType("service_control", SCP, "SCP", "SCPs", "iam", "FullAWSAccess"),
    PolicyType("resource_control", RCP, "RCP", "RCPs", "iam", "RCPFullAWSAccess"),
    PolicyType("tag", TAG_POLICY, "tag policy", "tag policies", "management"),
    PolicyType("backup", BACKUP_POLICY, "backup policy", "backup policies", "management"),
    PolicyType(
        "aiservices_opt_out",
        AI_OPT_OUT_POLICY,
        "AI opt-out policy",
        "AI opt-out policies",
        "management",
    ),
)
POLICY_TYPE_BY_NAME = {t.name: t for t in POLICY_TYPES}
POLICY_TYPE_BY_AWS = {t.aws: t for t in POLICY_TYPES}


def policy_label(aws_type: str) -> str:
    """How a plan names a policy of an AWS type (the type itself when orgkit does not know it)."""
    known = POLICY_TYPE_BY_AWS.get(aws_type)
    return known.label if known else aws_type
