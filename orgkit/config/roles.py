"""The roles orgkit keeps in shape, as documents: pure functions of org.yaml and the org's ids.

Per member account: the StackSet execution role (trusted only by the administration role in the
management account) and, for accounts of a project with a ``deployment_role``, that role with
its permissions boundary (and GitHub's OIDC provider when GitHub Actions may assume it). In the
management account: the StackSet administration role.

Documents for an account that does not exist yet carry ``${AccountId}``; apply fills it in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orgkit.config.models import AccountSpec, DeploymentRoleSpec, OrgSpec, ProjectSpec

ACCOUNT_ID = "${AccountId}"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
# GitHub's published thumbprint; AWS no longer checks it for GitHub but the API requires one.
GITHUB_THUMBPRINT = "6938fd4d98bab03faadb97b34396831e3780aea1"
VERSION = "2012-10-17"


@dataclass(frozen=True)
class RoleSpec:
    """A role orgkit wants in one account."""

    role_name: str
    purpose: str  # stackset-administration | stackset-execution | deployment
    trust: dict[str, Any]
    permissions: dict[str, Any]
    max_session_duration: int = 3600
    boundary_name: str | None = None
    boundary: dict[str, Any] | None = None
    oidc_provider: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """What a plan change carries."""
        return {
            "role_name": self.role_name,
            "purpose": self.purpose,
            "trust": self.trust,
            "permissions": self.permissions,
            "max_session_duration": self.max_session_duration,
            "boundary_name": self.boundary_name,
            "boundary": self.boundary,
            "oidc_provider": self.oidc_provider,
        }


def administration_role(spec: OrgSpec, management_id: str) -> RoleSpec:
    """The StackSet administration role in the management account."""
    roles = spec.stackset_roles
    assert roles is not None
    return RoleSpec(
        role_name=roles.administration_role,
        purpose="stackset-administration",
        trust=_doc(
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudformation.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": management_id}},
            }
        ),
        permissions=_doc(
            {
                "Sid": "AssumeExecutionRoles",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": f"arn:aws:iam::*:role/{roles.execution_role}",
            }
        ),
    )


def execution_role(
    spec: OrgSpec,
    account: AccountSpec,
    management_id: str,
    permissions: dict[str, Any] | None,
) -> RoleSpec:
    """The StackSet execution role in a member account."""
    roles = spec.stackset_roles
    assert roles is not None
    return RoleSpec(
        role_name=roles.execution_role,
        purpose="stackset-execution",
        trust=_doc(
            {
                "Effect": "Allow",
                "Principal": {
                    "AWS": f"arn:aws:iam::{management_id}:role/{roles.administration_role}"
                },
                "Action": "sts:AssumeRole",
            }
        ),
        permissions=permissions or default_execution_permissions(),
    )


def default_execution_permissions() -> dict[str, Any]:
    """What orgkit's templates create: the services of the ThemisGuard platform and baseline."""
    return _doc(
        {
            "Sid": "DeployOrgkitTemplates",
            "Effect": "Allow",
            "Action": sorted(
                [
                    "cloudformation:*",
                    "dynamodb:*",
                    "s3:*",
                    "kms:*",
                    "sns:*",
                    "sqs:*",
                    "cloudwatch:*",
                    "logs:*",
                    "wafv2:*",
                    "guardduty:*",
                    "events:*",
                    "ssm:*",
                    "iam:GetRole",
                    "iam:CreateRole",
                    "iam:DeleteRole",
                    "iam:TagRole",
                    "iam:UntagRole",
                    "iam:PutRolePolicy",
                    "iam:DeleteRolePolicy",
                    "iam:GetRolePolicy",
                    "iam:AttachRolePolicy",
                    "iam:DetachRolePolicy",
                    "iam:PassRole",
                    "iam:CreateServiceLinkedRole",
                ]
            ),
            "Resource": "*",
        }
    )


def deployment_role(
    spec: OrgSpec,
    account: AccountSpec,
    project: ProjectSpec,
    role: DeploymentRoleSpec,
    account_id: str,
    organization_id: str,
) -> RoleSpec:
    """A project's CI deployment role, least privilege for its SAM application."""
    boundary_name = f"{role.name}Boundary"
    return RoleSpec(
        role_name=role.name,
        purpose="deployment",
        trust=_trust(role, account_id, organization_id, account.environment.value),
        permissions=_deploy_permissions(project.name, role, account_id, boundary_name),
        max_session_duration=role.max_session_duration,
        boundary_name=boundary_name,
        boundary=_boundary(spec, project.name, role, account_id, boundary_name),
        oidc_provider=GITHUB_OIDC_HOST if role.trust.github else None,
    )


def roles_for_account(
    spec: OrgSpec,
    account: AccountSpec,
    account_id: str,
    management_id: str,
    organization_id: str,
    execution_permissions: dict[str, Any] | None,
) -> list[RoleSpec]:
    """Every role orgkit wants in ``account``."""
    wanted = []
    if spec.stackset_roles is not None:
        wanted.append(execution_role(spec, account, management_id, execution_permissions))
    project = spec.project(account.project)
    if project is not None and project.deployment_role is not None:
        wanted.append(
            deployment_role(
                spec, account, project, project.deployment_role, account_id, organization_id
            )
        )
    return wanted


def _trust(
    role: DeploymentRoleSpec, account_id: str, organization_id: str, environment: str
) -> dict[str, Any]:
    statements: list[dict[str, Any]] = []
    github = role.trust.github
    if github is not None:
        if environment in github.environments:
            # The account of a GitHub environment trusts only jobs of that environment: a dev
            # job cannot assume the prod role, and no push to a branch can skip the
            # environment's protection rules (required reviewers, branch policy).
            subjects = [f"repo:{github.repository}:environment:{environment}"]
        else:
            subjects = [f"repo:{github.repository}:ref:refs/heads/{b}" for b in github.branches]
        statements.append(
            {
                "Sid": "GitHubActions",
                "Effect": "Allow",
                "Principal": {
                    "Federated": f"arn:aws:iam::{account_id}:oidc-provider/{GITHUB_OIDC_HOST}"
                },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com"},
                    "StringLike": {f"{GITHUB_OIDC_HOST}:sub": sorted(subjects)},
                },
            }
        )
    if role.trust.principal_arns:
        condition: dict[str, Any] = {}
        if role.trust.external_id:
            condition["sts:ExternalId"] = role.trust.external_id
        if role.trust.require_organization:
            condition["aws:PrincipalOrgID"] = organization_id
        statement: dict[str, Any] = {
            "Sid": "CiPrincipals",
            "Effect": "Allow",
            "Principal": {"AWS": sorted(role.trust.principal_arns)},
            "Action": "sts:AssumeRole",
        }
        if condition:
            statement["Condition"] = {"StringEquals": condition}
        statements.append(statement)
    return {"Version": VERSION, "Statement": statements}


def _deploy_permissions(
    project: str, role: DeploymentRoleSpec, account_id: str, boundary: str
) -> dict[str, Any]:
    def arn(service: str) -> str:
        return f"arn:aws:{service}:*:{account_id}:"

    statements = [
        {
            "Sid": "CloudFormationStacks",
            "Effect": "Allow",
            "Action": [
                "cloudformation:CreateChangeSet",
                "cloudformation:CreateStack",
                "cloudformation:DeleteChangeSet",
                "cloudformation:DeleteStack",
                "cloudformation:DescribeChangeSet",
                "cloudformation:DescribeStackEvents",
                "cloudformation:DescribeStackResource",
                "cloudformation:DescribeStackResources",
                "cloudformation:DescribeStacks",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:GetTemplate",
                "cloudformation:ListStackResources",
                "cloudformation:TagResource",
                "cloudformation:UpdateStack",
            ],
            "Resource": [
                arn("cloudformation") + f"stack/{project}-*/*",
                "arn:aws:cloudformation:*:aws:transform/Serverless-2016-10-31",
            ],
        },
        {
            "Sid": "CloudFormationRead",
            "Effect": "Allow",
            "Action": [
                "cloudformation:GetTemplateSummary",
                "cloudformation:ListStacks",
                "cloudformation:ValidateTemplate",
            ],
            "Resource": "*",
        },
        {
            "Sid": "Functions",
            "Effect": "Allow",
            "Action": "lambda:*",
            "Resource": [
                arn("lambda") + f"function:{project}-*",
                arn("lambda") + f"layer:{project}-*",
            ],
        },
        {
            "Sid": "Apis",
            "Effect": "Allow",
            "Action": [
                "apigateway:DELETE",
                "apigateway:GET",
                "apigateway:PATCH",
                "apigateway:POST",
                "apigateway:PUT",
                "apigateway:TagResource",
            ],
            "Resource": [
                "arn:aws:apigateway:*::/restapis",
                "arn:aws:apigateway:*::/restapis/*",
                "arn:aws:apigateway:*::/apis",
                "arn:aws:apigateway:*::/apis/*",
                "arn:aws:apigateway:*::/tags/*",
            ],
        },
        {
            "Sid": "Tables",
            "Effect": "Allow",
            "Action": [
                "dynamodb:CreateTable",
                "dynamodb:DeleteTable",
                "dynamodb:DescribeTable",
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:DescribeTimeToLive",
                "dynamodb:ListTagsOfResource",
                "dynamodb:TagResource",
                "dynamodb:UntagResource",
                "dynamodb:UpdateContinuousBackups",
                "dynamodb:UpdateTable",
                "dynamodb:UpdateTimeToLive",
            ],
            "Resource": arn("dynamodb") + f"table/{project}-*",
        },
        {
            "Sid": "ArtifactsBucket",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:PutObject"],
            "Resource": [
                f"arn:aws:s3:::{project}-*-artifacts-*",
                f"arn:aws:s3:::{project}-*-artifacts-*/*",
            ],
        },
        {
            "Sid": "ArtifactsKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": f"arn:aws:kms:*:{account_id}:key/*",
            "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}},
        },
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DescribeLogGroups",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
            ],
            "Resource": arn("logs") + f"log-group:/aws/lambda/{project}-*",
        },
        {
            "Sid": "PassProjectRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"arn:aws:iam::{account_id}:role/{project}-*",
            "Condition": {
                "StringEquals": {
                    "iam:PassedToService": ["apigateway.amazonaws.com", "lambda.amazonaws.com"]
                }
            },
        },
        {
            "Sid": "ProjectRolesWithinBoundary",
            "Effect": "Allow",
            "Action": [
                "iam:AttachRolePolicy",
                "iam:CreateRole",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:PutRolePolicy",
                "iam:PutRolePermissionsBoundary",
            ],
            "Resource": f"arn:aws:iam::{account_id}:role/{project}-*",
            "Condition": {
                "StringEquals": {
                    "iam:PermissionsBoundary": f"arn:aws:iam::{account_id}:policy/{boundary}"
                }
            },
        },
        {
            "Sid": "ProjectRoles",
            "Effect": "Allow",
            "Action": [
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
            ],
            "Resource": f"arn:aws:iam::{account_id}:role/{project}-*",
        },
    ]
    if role.extra_actions:
        statements.append(
            {
                "Sid": "Extra",
                "Effect": "Allow",
                "Action": sorted(role.extra_actions),
                "Resource": "*",
            }
        )
    return {"Version": VERSION, "Statement": statements}


def _boundary(
    spec: OrgSpec, project: str, role: DeploymentRoleSpec, account_id: str, boundary: str
) -> dict[str, Any]:
    protected = sorted(
        {
            f"arn:aws:iam::{account_id}:role/{spec.organization.access_role}",
            f"arn:aws:iam::{account_id}:role/{role.name}",
            f"arn:aws:iam::{account_id}:role/orgkit-*",
            *(
                [f"arn:aws:iam::{account_id}:role/{spec.stackset_roles.execution_role}"]
                if spec.stackset_roles
                else []
            ),
        }
    )
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ApplicationServices",
                "Effect": "Allow",
                "Action": sorted(
                    [
                        "apigateway:*",
                        "cloudformation:*",
                        "cloudwatch:*",
                        "dynamodb:*",
                        "events:*",
                        "iam:*",
                        "kms:Decrypt",
                        "kms:DescribeKey",
                        "kms:Encrypt",
                        "kms:GenerateDataKey*",
                        "lambda:*",
                        "logs:*",
                        "s3:*",
                        "secretsmanager:GetSecretValue",
                        "sns:*",
                        "sqs:*",
                        "ssm:GetParameter*",
                        "states:*",
                        "xray:*",
                        *role.extra_actions,
                    ]
                ),
                "Resource": "*",
            },
            {
                "Sid": "NewRolesCarryTheBoundary",
                "Effect": "Deny",
                "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
                "Resource": "*",
                "Condition": {
                    "StringNotEquals": {
                        "iam:PermissionsBoundary": f"arn:aws:iam::{account_id}:policy/{boundary}"
                    }
                },
            },
            {
                "Sid": "KeepTheBoundary",
                "Effect": "Deny",
                "Action": [
                    "iam:CreatePolicyVersion",
                    "iam:DeletePolicy",
                    "iam:DeletePolicyVersion",
                    "iam:DeleteRolePermissionsBoundary",
                    "iam:SetDefaultPolicyVersion",
                ],
                "Resource": "*",
            },
            {
                "Sid": "LeaveOrgkitRolesAlone",
                "Effect": "Deny",
                "Action": "iam:*",
                "Resource": protected,
            },
            {
                "Sid": "NoOrganizationChanges",
                "Effect": "Deny",
                "Action": ["account:*", "organizations:*"],
                "Resource": "*",
            },
        ],
    }


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": list(statements)}


def fill_account_id(document: Any, account_id: str) -> Any:
    """Replace ``${AccountId}`` everywhere in a document (for accounts made in this apply)."""
    if isinstance(document, str):
        return document.replace(ACCOUNT_ID, account_id)
    if isinstance(document, list):
        return [fill_account_id(v, account_id) for v in document]
    if isinstance(document, dict):
        return {k: fill_account_id(v, account_id) for k, v in document.items()}
    return document


@dataclass(frozen=True)
class WantedRole:
    """A role wanted in an account that exists (``account_id``) or is yet to be created."""

    account: AccountSpec | None  # None: the management account
    account_id: str | None  # None: the account is created by this plan
    access_role: str | None  # None: no AssumeRole needed (management account)
    role: RoleSpec


def wanted_roles(
    spec: OrgSpec,
    execution_permissions: dict[str, Any] | None,
    management_id: str,
    organization_id: str,
    live_ids: dict[str, str],
) -> list[WantedRole]:
    """Every role orgkit wants, given the live account ids by (lower-case) email."""
    wanted: list[WantedRole] = []
    if spec.stackset_roles is not None:
        wanted.append(
            WantedRole(None, management_id, None, administration_role(spec, management_id))
        )
    for account in spec.accounts:
        if account.state != "active":
            continue
        account_id = live_ids.get(account.email.lower())
        for role in roles_for_account(
            spec,
            account,
            account_id or ACCOUNT_ID,
            management_id,
            organization_id,
            execution_permissions,
        ):
            wanted.append(WantedRole(account, account_id, spec.access_role(account), role))
    return wanted
