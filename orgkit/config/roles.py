"""The roles orgkit keeps in shape, as documents: pure functions of org.yaml and the org's ids.

Per member account: orgkit's read-only role (``organization.read_role``, trusted by the
management account), the StackSet execution role (trusted only by the administration role in the
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
    purpose: str  # stackset-administration | stackset-execution | deployment | read-only
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
    if roles is None:  # only called when stackset_roles is declared
        raise AssertionError("stackset_roles is not declared")
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
    if roles is None:  # only called when stackset_roles is declared
        raise AssertionError("stackset_roles is not declared")
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
                    # The platform's secrets, created empty: never secretsmanager:*, which
                    # would include reading a value someone has set.
                    "secretsmanager:CreateSecret",
                    "secretsmanager:DeleteResourcePolicy",
                    "secretsmanager:DeleteSecret",
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:GetResourcePolicy",
                    "secretsmanager:PutResourcePolicy",
                    "secretsmanager:TagResource",
                    "secretsmanager:UntagResource",
                    "secretsmanager:UpdateSecret",
                    "secretsmanager:ValidateResourcePolicy",
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
        permissions=_deploy_permissions(
            project.name, role, account_id, boundary_name, account.environment.value
        ),
        max_session_duration=role.max_session_duration,
        boundary_name=boundary_name,
        boundary=_boundary(
            spec, project.name, role, account_id, boundary_name, account.environment.value
        ),
        oidc_provider=GITHUB_OIDC_HOST if role.trust.github else None,
    )


# The calls orgkit makes inside a member account when it only reads (plan, drift, project check
# and samconfig), as IAM actions, with the narrowest resources each allows. The test
# tests/integration/test_read_role.py records them on the emulator and compares.
def _read_statements(account_id: str) -> list[dict[str, Any]]:
    def arn(service: str, rest: str, region: str = "*") -> str:
        return f"arn:aws:{service}:{region}:{account_id}:{rest}"

    return [
        {
            # The roles orgkit keeps (role/* rather than their names: a renamed deployment role
            # must be readable before the apply that makes it).
            "Sid": "ReadRoles",
            "Effect": "Allow",
            "Action": [
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListRolePolicies",
            ],
            "Resource": f"arn:aws:iam::{account_id}:role/*",
        },
        {
            "Sid": "ReadBoundaries",
            "Effect": "Allow",
            "Action": ["iam:GetPolicy", "iam:GetPolicyVersion"],
            "Resource": f"arn:aws:iam::{account_id}:policy/*",
        },
        {
            "Sid": "ReadGitHubProvider",
            "Effect": "Allow",
            "Action": "iam:GetOpenIDConnectProvider",
            "Resource": f"arn:aws:iam::{account_id}:oidc-provider/{GITHUB_OIDC_HOST}",
        },
        {
            # Stack set instances' stacks are named StackSet-<stack set>-<id>.
            "Sid": "ReadStackSetOutputs",
            "Effect": "Allow",
            "Action": "cloudformation:DescribeStacks",
            "Resource": arn("cloudformation", "stack/StackSet-*/*"),
        },
        {
            "Sid": "ReadSecurityServices",
            "Effect": "Allow",
            "Action": "guardduty:GetDetector",
            "Resource": arn("guardduty", "detector/*"),
        },
        {
            "Sid": "ReadSecurityHub",
            "Effect": "Allow",
            "Action": ["securityhub:DescribeHub", "securityhub:GetFindingAggregator"],
            "Resource": [
                arn("securityhub", "hub/default"),
                arn("securityhub", "finding-aggregator/*"),
            ],
        },
        {
            "Sid": "ReadProjectChecks",
            "Effect": "Allow",
            "Action": [
                "cloudwatch:DescribeAlarms",
                "dynamodb:DescribeContinuousBackups",
                "secretsmanager:ListSecretVersionIds",
            ],
            "Resource": [
                arn("cloudwatch", "alarm:*"),
                arn("dynamodb", "table/*"),
                arn("secretsmanager", "secret:*"),
            ],
        },
        {
            # Calls that AWS authorizes on no resource but "*".
            "Sid": "Listings",
            "Effect": "Allow",
            "Action": [
                "acm:ListCertificates",
                "cloudwatch:ListDashboards",
                "guardduty:DescribeOrganizationConfiguration",
                "guardduty:ListDetectors",
                "route53:ListHostedZones",
                "securityhub:DescribeOrganizationConfiguration",
                "securityhub:ListFindingAggregators",
            ],
            "Resource": "*",
        },
    ]


def read_role(spec: OrgSpec, account_id: str, management_id: str) -> RoleSpec:
    """The read-only role orgkit reads a member account through (``organization.read_role``):
    trusted by the management account (by the roles ``principal_arns`` names, if any), allowed
    only the reads orgkit makes there."""
    declared = spec.organization.read_role
    if declared is None:  # only called when read_role is declared
        raise AssertionError("organization.read_role is not declared")
    statement: dict[str, Any] = {
        "Sid": "ManagementAccount",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{management_id}:root"},
        # SetSourceIdentity: CloudTrail in the account names who ran orgkit (orgkit.live.member).
        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
    }
    if declared.principal_arns:
        statement["Condition"] = {"ArnLike": {"aws:PrincipalArn": sorted(declared.principal_arns)}}
    return RoleSpec(
        role_name=declared.name,
        purpose="read-only",
        trust=_doc(statement),
        permissions=_doc(*_read_statements(account_id)),
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
    if spec.organization.read_role is not None:
        wanted.append(read_role(spec, account_id, management_id))
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
        like: dict[str, Any] = {}
        if environment in github.environments:
            # The account of a GitHub environment trusts only jobs of that environment: a dev
            # job cannot assume the prod role, and no push to a branch can skip the
            # environment's protection rules (required reviewers, branch policy).
            subjects = [f"repo:{github.repository}:environment:{environment}"]
        else:
            subjects = [f"repo:{github.repository}:ref:refs/heads/{b}" for b in github.branches]
        like[f"{GITHUB_OIDC_HOST}:sub"] = sorted(subjects)
        if github.job_workflow_refs:
            like[f"{GITHUB_OIDC_HOST}:job_workflow_ref"] = sorted(github.job_workflow_refs)
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
                    "StringLike": {
                        f"{GITHUB_OIDC_HOST}:sub": sorted(subjects),
                        **(
                            {
                                f"{GITHUB_OIDC_HOST}:job_workflow_ref": sorted(
                                    github.job_workflow_refs
                                )
                            }
                            if github.job_workflow_refs
                            else {}
                        ),
                    },
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


# Managed policies the deployment role may attach to the roles it creates (SAM's policy
# templates and the execution roles Lambda and API Gateway document). Anything else, above all
# AdministratorAccess, is refused; a project's own customer policies live under its path.
ATTACHABLE_MANAGED_POLICIES = (
    "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
    # AWSLambdaBasicExecutionRole, ...DynamoDB..., ...SQSQueue..., ...VPCAccess..., ...Kinesis...
    "arn:aws:iam::aws:policy/service-role/AWSLambda*ExecutionRole",
    "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
)
# IAM actions that make new identities, credentials or policies: never for a deployment role or
# the roles it creates (wildcards keep the boundary within IAM's 6,144-character limit).
IDENTITY_ESCALATION_ACTIONS = (
    "iam:*AccessKey*",
    "iam:*Group*",
    "iam:*LoginProfile*",
    "iam:*OpenIDConnectProvider*",
    "iam:*PolicyVersion*",
    "iam:*SAMLProvider*",
    "iam:*ServiceSpecificCredential*",
    "iam:*User*",
    "iam:CreatePolicy",
    "iam:DeletePolicy",
    "iam:DeleteRolePermissionsBoundary",
    "iam:Upload*",
)
# What the platform stack set owns in a project account is named ``<project>-<environment>-*``
# (its tables, buckets, topic, alarms, WAF); the application's own stack must use other names
# (``<project>-app-*`` by convention). These actions would destroy or expose the platform's
# data, so they are denied on its resources to the deployment role and the roles it creates.
PLATFORM_TABLE_ACTIONS = (
    "dynamodb:DeleteBackup",
    "dynamodb:DeleteResourcePolicy",
    "dynamodb:DeleteTable",
    "dynamodb:DisableKinesisStreamingDestination",
    "dynamodb:PutResourcePolicy",
    "dynamodb:UpdateContinuousBackups",
    "dynamodb:UpdateTable",
    "dynamodb:UpdateTimeToLive",
)
PLATFORM_BUCKET_ACTIONS = (
    "s3:DeleteBucket*",  # the bucket, its policy
    "s3:PutBucket*",  # policy, ACL, public access block, versioning, object lock, ownership
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutReplicationConfiguration",
)
KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:UpdateAlias",
)
# The platform's roles (its application role, which alone reads the secrets, and the backup
# role): the deployment role may pass the application role to Lambda, never change who it
# trusts or what it may do.
PLATFORM_ROLE_ACTIONS = (
    "iam:Attach*",
    "iam:Delete*",
    "iam:Detach*",
    "iam:Put*",
    "iam:Tag*",
    "iam:Untag*",
    "iam:Update*",
)
PLATFORM_MONITORING_ACTIONS = (
    "cloudwatch:Delete*",
    "cloudwatch:DisableAlarmActions",
    "logs:Delete*",
    "logs:PutRetentionPolicy",
    "sns:DeleteTopic",
    "sns:SetTopicAttributes",
    "sns:Unsubscribe",
    "wafv2:Delete*",
    "wafv2:UpdateWebACL",
)


def _platform_protection(project: str, environment: str, account_id: str) -> list[dict[str, Any]]:
    """Deny statements that keep the platform stack set's resources out of the deployment
    role's (and its roles') reach."""
    prefix = f"{project}-{environment}-"
    return [
        {
            "Sid": "KeepPlatformTables",
            "Effect": "Deny",
            "Action": list(PLATFORM_TABLE_ACTIONS),
            "Resource": f"arn:aws:dynamodb:*:{account_id}:table/{prefix}*",
        },
        {
            "Sid": "KeepPlatformBuckets",
            "Effect": "Deny",
            "Action": list(PLATFORM_BUCKET_ACTIONS),
            "Resource": f"arn:aws:s3:::{prefix}*",
        },
        {
            "Sid": "KeepPlatformObjects",
            "Effect": "Deny",
            "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectRetention"],
            "Resource": f"arn:aws:s3:::{prefix}data-*/*",
        },
        {
            "Sid": "KeepPlatformRoles",
            "Effect": "Deny",
            "Action": list(PLATFORM_ROLE_ACTIONS),
            "Resource": f"arn:aws:iam::{account_id}:role/{prefix}*",
        },
        {
            "Sid": "NoKeyAdministration",
            "Effect": "Deny",
            "Action": list(KEY_ADMIN_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "KeepPlatformMonitoring",
            "Effect": "Deny",
            "Action": list(PLATFORM_MONITORING_ACTIONS),
            "Resource": [
                f"arn:aws:cloudwatch:*:{account_id}:alarm:{prefix}*",
                f"arn:aws:cloudwatch::{account_id}:dashboard/{project}-{environment}",
                f"arn:aws:logs:*:{account_id}:log-group:aws-waf-logs-{project}-{environment}*",
                f"arn:aws:sns:*:{account_id}:{prefix}*",
                f"arn:aws:wafv2:*:{account_id}:regional/webacl/{prefix}*/*",
            ],
        },
    ]


def _platform_waf(project: str, environment: str, account_id: str) -> dict[str, Any]:
    """Putting the project's APIs behind the platform's web ACL (in the role and its boundary)."""
    return {
        "Sid": "PlatformWaf",
        "Effect": "Allow",
        "Action": [
            "wafv2:AssociateWebACL",
            "wafv2:DisassociateWebACL",
            "wafv2:GetWebACL",
            "wafv2:GetWebACLForResource",
        ],
        "Resource": [
            f"arn:aws:wafv2:*:{account_id}:regional/webacl/{project}-{environment}-web-acl/*",
            "arn:aws:apigateway:*::/restapis/*/stages/*",
        ],
    }


def _deploy_permissions(
    project: str,
    role: DeploymentRoleSpec,
    account_id: str,
    boundary: str,
    environment: str,
) -> dict[str, Any]:
    def arn(service: str) -> str:
        return f"arn:aws:{service}:*:{account_id}:"

    project_roles = f"arn:aws:iam::{account_id}:role/{project}-*"
    boundary_arn = f"arn:aws:iam::{account_id}:policy/{boundary}"
    with_boundary = {"StringEquals": {"iam:PermissionsBoundary": boundary_arn}}
    functions = arn("lambda") + f"function:{project}-*"
    statements: list[dict[str, Any]] = [
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
            "Action": [
                "lambda:AddPermission",
                "lambda:CreateAlias",
                "lambda:CreateFunction",
                "lambda:DeleteAlias",
                "lambda:DeleteFunction",
                "lambda:DeleteFunctionConcurrency",
                "lambda:DeleteFunctionEventInvokeConfig",
                "lambda:GetAlias",
                "lambda:GetFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:GetPolicy",
                "lambda:ListTags",
                "lambda:ListVersionsByFunction",
                "lambda:PublishVersion",
                "lambda:PutFunctionConcurrency",
                "lambda:PutFunctionEventInvokeConfig",
                "lambda:RemovePermission",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:UpdateAlias",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
            ],
            "Resource": functions,  # '*' in an ARN spans ':' too: versions and aliases
        },
        {
            "Sid": "InvokedByServicesOnly",
            "Effect": "Deny",
            "Action": "lambda:AddPermission",
            "Resource": "*",
            "Condition": {
                "StringNotEquals": {
                    "lambda:Principal": [
                        "apigateway.amazonaws.com",
                        "events.amazonaws.com",
                        "s3.amazonaws.com",
                        "sns.amazonaws.com",
                        "sqs.amazonaws.com",
                    ]
                }
            },
        },
        {
            "Sid": "Layers",
            "Effect": "Allow",
            "Action": [
                "lambda:DeleteLayerVersion",
                "lambda:GetLayerVersion",
                "lambda:PublishLayerVersion",
            ],
            "Resource": [
                arn("lambda") + f"layer:{project}-*",
            ],
        },
        {
            "Sid": "EventSourceMappings",
            "Effect": "Allow",
            "Action": [
                "lambda:CreateEventSourceMapping",
                "lambda:DeleteEventSourceMapping",
                "lambda:GetEventSourceMapping",
                "lambda:UpdateEventSourceMapping",
            ],
            "Resource": "*",
            "Condition": {"ArnLike": {"lambda:FunctionArn": functions}},
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
                "apigateway:SetWebACL",
            ],
            "Resource": [
                "arn:aws:apigateway:*::/restapis",
                "arn:aws:apigateway:*::/restapis/*",
                "arn:aws:apigateway:*::/apis",
                "arn:aws:apigateway:*::/apis/*",
                "arn:aws:apigateway:*::/tags/*",
            ],
        },
        _platform_waf(project, environment, account_id),
        {
            "Sid": "Tables",
            "Effect": "Allow",
            "Action": [
                "dynamodb:CreateTable",
                "dynamodb:DeleteTable",
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:DescribeTable",
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
            "Sid": "FunctionLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
            ],
            "Resource": [
                arn("logs") + f"log-group:/aws/lambda/{project}-*",
            ],
        },
        {
            "Sid": "DescribeLogGroups",
            "Effect": "Allow",
            "Action": "logs:DescribeLogGroups",
            "Resource": "*",  # a listing: IAM takes no narrower resource for it
        },
        {
            "Sid": "PassProjectRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": project_roles,
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
                "iam:CreateRole",
                "iam:DeleteRolePolicy",
                "iam:PutRolePermissionsBoundary",
                "iam:PutRolePolicy",
            ],
            "Resource": project_roles,
            "Condition": with_boundary,
        },
        {
            "Sid": "ListedPoliciesOnly",
            "Effect": "Allow",
            "Action": ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
            "Resource": project_roles,
            "Condition": {
                **with_boundary,
                "ArnLike": {"iam:PolicyARN": _attachable(project, account_id)},
            },
        },
        {
            "Sid": "ProjectRoles",
            "Effect": "Allow",
            "Action": [
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListRolePolicies",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
            ],
            "Resource": project_roles,
        },
        *_platform_protection(project, environment, account_id),
    ]
    for index, extra in enumerate(role.extra_actions):
        statements.append(
            {
                "Sid": f"Extra{index}",
                "Effect": "Allow",
                "Action": sorted(extra.actions),
                "Resource": sorted(extra.resources),
            }
        )
    return {"Version": VERSION, "Statement": statements}


def _attachable(project: str, account_id: str) -> list[str]:
    return [*ATTACHABLE_MANAGED_POLICIES, f"arn:aws:iam::{account_id}:policy/{project}/*"]


def _boundary(
    spec: OrgSpec,
    project: str,
    role: DeploymentRoleSpec,
    account_id: str,
    boundary: str,
    environment: str,
) -> dict[str, Any]:
    """The most the deployment role, and every role it creates, can ever do."""
    protected = sorted(
        {
            f"arn:aws:iam::{account_id}:role/{spec.organization.access_role}",
            f"arn:aws:iam::{account_id}:role/{role.name}",
            *(
                [f"arn:aws:iam::{account_id}:role/{spec.organization.read_role.name}"]
                if spec.organization.read_role
                else []
            ),
            *(
                [
                    f"arn:aws:iam::{account_id}:role/{spec.stackset_roles.execution_role}",
                    f"arn:aws:iam::{account_id}:role/{spec.stackset_roles.administration_role}",
                ]
                if spec.stackset_roles
                else []
            ),
        }
    )
    boundary_arn = f"arn:aws:iam::{account_id}:policy/{boundary}"
    project_roles = f"arn:aws:iam::{account_id}:role/{project}-*"

    def arn(service: str) -> str:
        return f"arn:aws:{service}:*:{account_id}:"

    statements: list[dict[str, Any]] = [
        {
            # Each service's actions match only that service's ARNs, so one statement lists
            # the project's resources of every kind.
            "Sid": "ProjectResources",
            "Effect": "Allow",
            "Action": [
                "apigateway:*",
                "cloudformation:*",
                "cloudwatch:*",
                "dynamodb:*",
                "events:*",
                "lambda:*",
                "logs:*",
                "s3:*",
                "sns:*",
                "sqs:*",
                "states:*",
            ],
            "Resource": [
                "arn:aws:apigateway:*::/apis",
                "arn:aws:apigateway:*::/apis/*",
                "arn:aws:apigateway:*::/restapis",
                "arn:aws:apigateway:*::/restapis/*",
                "arn:aws:apigateway:*::/tags/*",
                "arn:aws:cloudformation:*:aws:transform/Serverless-2016-10-31",
                arn("cloudformation") + f"stack/{project}-*/*",
                arn("cloudwatch") + f"alarm:{project}-*",
                arn("dynamodb") + f"table/{project}-*",
                arn("events") + "event-bus/default",
                arn("events") + f"rule/{project}-*",
                arn("lambda") + f"function:{project}-*",
                arn("lambda") + f"layer:{project}-*",
                arn("logs") + f"log-group:/aws/lambda/{project}-*",
                arn("sns") + f"{project}-*",
                arn("sqs") + f"{project}-*",
                arn("states") + f"execution:{project}-*",
                arn("states") + f"stateMachine:{project}-*",
                f"arn:aws:s3:::{project}-*",
            ],
        },
        {
            "Sid": "EventSources",
            "Effect": "Allow",
            "Action": "lambda:*EventSourceMapping",
            "Resource": "*",
            "Condition": {
                "ArnLike": {"lambda:FunctionArn": arn("lambda") + f"function:{project}-*"}
            },
        },
        {
            "Sid": "DataKeys",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*"],
            "Resource": f"arn:aws:kms:*:{account_id}:key/*",
        },
        {
            "Sid": "Configuration",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "ssm:GetParameter", "ssm:GetParameters"],
            "Resource": [
                arn("secretsmanager") + f"secret:{project}/*",
                arn("ssm") + f"parameter/{project}/*",
            ],
        },
        {
            "Sid": "ReadsAndTelemetry",
            "Effect": "Allow",
            "Action": [
                "cloudformation:GetTemplateSummary",
                "cloudformation:ListStacks",
                "cloudformation:ValidateTemplate",
                "cloudwatch:GetMetricData",
                "cloudwatch:PutMetricData",
                "logs:DescribeLogGroups",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:PutTelemetryRecords",
                "xray:PutTraceSegments",
            ],
            "Resource": "*",
        },
        _platform_waf(project, environment, account_id),
        {
            "Sid": "ProjectRolesOnly",
            "Effect": "Allow",
            "Action": [
                "iam:AttachRolePolicy",
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListRolePolicies",
                "iam:PassRole",
                "iam:PutRolePermissionsBoundary",
                "iam:PutRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
            ],
            "Resource": project_roles,
        },
        {
            "Sid": "KeepBoundaryOnRoles",
            "Effect": "Deny",
            "Action": [
                "iam:AttachRolePolicy",
                "iam:CreateRole",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:PutRolePermissionsBoundary",
                "iam:PutRolePolicy",
            ],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": boundary_arn}},
        },
        {
            "Sid": "ListedPoliciesOnly",
            "Effect": "Deny",
            "Action": ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
            "Resource": "*",
            "Condition": {"ArnNotLike": {"iam:PolicyARN": _attachable(project, account_id)}},
        },
        {
            "Sid": "NoNewIdentities",
            "Effect": "Deny",
            "Action": list(IDENTITY_ESCALATION_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "ProjectTrustOnly",
            "Effect": "Deny",
            "Action": "iam:UpdateAssumeRolePolicy",
            "NotResource": project_roles,
        },
        {
            # orgkit's roles, this boundary, and roles with a path (role/<path>/<name>), which
            # '<project>-*' would otherwise match across the '/'.
            "Sid": "LeaveOrgkitRolesAlone",
            "Effect": "Deny",
            "Action": "iam:*",
            "Resource": [*protected, boundary_arn, f"arn:aws:iam::{account_id}:role/*/*"],
        },
        {
            "Sid": "NoOrganizationChanges",
            "Effect": "Deny",
            "Action": ["account:*", "organizations:*"],
            "Resource": "*",
        },
        {
            "Sid": "NoPublicFunctionUrls",
            "Effect": "Deny",
            "Action": ["lambda:CreateFunctionUrlConfig", "lambda:UpdateFunctionUrlConfig"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
        },
        {
            # S3 ARNs carry no account: arn:aws:s3:::<project>-* would match a bucket of that
            # name in someone else's account too.
            "Sid": "ThisAccountsBucketsOnly",
            "Effect": "Deny",
            "Action": ["s3:DeleteObject*", "s3:GetObject*", "s3:ListBucket*", "s3:PutObject*"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"s3:ResourceAccount": account_id}},
        },
        {
            "Sid": "NoEventBusSharing",
            "Effect": "Deny",
            "Action": ["events:PutPermission", "events:RemovePermission"],
            "Resource": "*",
        },
    ]
    first_deny = next(i for i, st in enumerate(statements) if st["Effect"] == "Deny")
    for index, extra in enumerate(role.extra_actions):
        statements.insert(
            first_deny + index,
            {
                "Sid": f"Extra{index}",
                "Effect": "Allow",
                "Action": sorted(extra.actions),
                "Resource": sorted(extra.resources),
            },
        )
    return {"Version": VERSION, "Statement": statements}


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
