"""AWS quotas orgkit checks before it writes, kept in one place.

AWS changes these; org.yaml can override any of them under ``quotas:``. The policy sizes and
attachments per target are AWS's "Quotas and service limits for AWS Organizations" and
"Managing policies" pages (docs/policy-types.md cites them).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Quotas(BaseModel):
    """Limits of AWS Organizations that the emulator does not enforce and orgkit must."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # AWS raised the SCP size (to 10,240) and the SCPs per target (to 10) in 2026; AWS pages
    # written before say 5,120 and 5 (docs/policy-types.md).
    scp_max_characters: int = Field(
        10_240, ge=1, description="Maximum SCP size in characters, whitespace removed."
    )
    rcp_max_characters: int = Field(
        5_120, ge=1, description="Maximum RCP size in characters, whitespace removed."
    )
    tag_policy_max_characters: int = Field(
        10_000, ge=1, description="Maximum tag policy size in characters, whitespace removed."
    )
    backup_policy_max_characters: int = Field(
        10_000, ge=1, description="Maximum backup policy size in characters, whitespace removed."
    )
    ai_opt_out_policy_max_characters: int = Field(
        2_500,
        ge=1,
        description="Maximum AI services opt-out policy size in characters, whitespace removed.",
    )
    policies_per_target: int = Field(
        10, ge=1, description="SCPs attached to one root, OU or account, FullAWSAccess included."
    )
    rcps_per_target: int = Field(
        5, ge=1, description="RCPs attached to one root, OU or account, RCPFullAWSAccess included."
    )
    tag_policies_per_target: int = Field(
        10, ge=1, description="Tag policies attached to one root, OU or account."
    )
    backup_policies_per_target: int = Field(
        10, ge=1, description="Backup policies attached to one root, OU or account."
    )
    ai_opt_out_policies_per_target: int = Field(
        5, ge=1, description="AI services opt-out policies attached to one root, OU or account."
    )
    ou_max_depth: int = Field(5, ge=1, description="Levels of OUs below the root.")
    ou_name_max_length: int = Field(128, ge=1)
    account_name_max_length: int = Field(50, ge=1)
    account_email_max_length: int = Field(64, ge=6)
    policy_name_max_length: int = Field(128, ge=1)
    template_body_max_bytes: int = Field(
        51_200, ge=1, description="Largest TemplateBody CloudFormation accepts inline."
    )
    create_account_in_flight: int = Field(
        5, ge=1, description="CreateAccount requests AWS lets run at once."
    )
    iam_policy_versions: int = Field(
        5, ge=2, description="Versions IAM keeps of a managed policy (a boundary's updates)."
    )
    iam_managed_policy_max_characters: int = Field(
        6_144,
        ge=1,
        description="Largest managed policy (a permissions boundary), whitespace removed.",
    )
    iam_inline_policies_max_characters: int = Field(
        10_240, ge=1, description="Inline policies of one role together, whitespace removed."
    )

    def policy_max_characters(self, policy_type: str) -> int:
        """The size quota of a policy type (org.yaml's name of it, e.g. ``tag``)."""
        return int(getattr(self, _SIZE[policy_type]))

    def policies_per_target_of(self, policy_type: str) -> int:
        """How many policies of a type one target takes (org.yaml's name of the type)."""
        return int(getattr(self, _PER_TARGET[policy_type]))


# org.yaml's policy type names (orgkit.names.POLICY_TYPES) -> the quota fields above.
_SIZE = {
    "service_control": "scp_max_characters",
    "resource_control": "rcp_max_characters",
    "tag": "tag_policy_max_characters",
    "backup": "backup_policy_max_characters",
    "aiservices_opt_out": "ai_opt_out_policy_max_characters",
}
_PER_TARGET = {
    "service_control": "policies_per_target",
    "resource_control": "rcps_per_target",
    "tag": "tag_policies_per_target",
    "backup": "backup_policies_per_target",
    "aiservices_opt_out": "ai_opt_out_policies_per_target",
}


# AWS Organizations' published request rates ("Throttling limits" in the Organizations quotas
# page): operation -> (requests per second, burst). orgkit paces its calls by them
# (orgkit/live/pacing.py) and the sandbox's fault layer enforces them (orgkit/sandbox/faults.py).
ORGANIZATIONS_RATES: dict[str, tuple[float, int]] = {
    "ListAccountsForParent": (5, 8),
    "ListOrganizationalUnitsForParent": (5, 8),
    "ListTargetsForPolicy": (5, 8),
    "ListTagsForResource": (5, 8),
    "ListPolicies": (5, 8),
    "DescribePolicy": (2, 2),
    "CreateAccount": (0.5, 5),
    "DescribeCreateAccountStatus": (5, 8),
}
