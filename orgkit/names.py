"""Names and fixed values orgkit shares across stages, defined once.

AWS quotas live in :mod:`orgkit.quotas`; this module holds the names orgkit gives things and
the AWS constants it refers to.
"""

from __future__ import annotations

ROOT_PATH = "/"  # the organization's root, as orgkit names it (OUs are paths below it)
SCP = "SERVICE_CONTROL_POLICY"  # the Organizations policy type of service control policies
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
