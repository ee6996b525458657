"""AWS quotas orgkit checks before it writes, kept in one place.

AWS changes these (SCP size and attachments per target went up in 2026); org.yaml can override
any of them under ``quotas:``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Quotas(BaseModel):
    """Limits of AWS Organizations that the emulator does not enforce and orgkit must."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scp_max_characters: int = Field(
        10_240, ge=1, description="Maximum SCP size in characters, whitespace removed."
    )
    policies_per_target: int = Field(
        10, ge=1, description="SCPs attached to one root, OU or account, FullAWSAccess included."
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
