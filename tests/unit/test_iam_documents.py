"""Every IAM document orgkit builds is linted by tools no one here wrote, and the deployment
role's escalation paths are evaluated locally.

- parliament (duo-labs): grammar, unknown actions, malformed ARNs, mismatched conditions. Its
  finding types that do not apply are listed in ACCEPTED with the reason.
- cloudsplaining (salesforce): privilege escalation, permissions management, data exfiltration,
  credentials exposure and infrastructure modification on unconstrained resources.
- principalmapper's local policy simulation: can the deployment role, or a role it creates,
  take the path to admin (a user, an access key, AdministratorAccess, a new boundary)?

The StackSet roles are the documented exceptions: the execution role deploys orgkit's
templates, so it administers the services they use (its trust is the administration role
alone); the administration role's one permission is sts:AssumeRole on the execution roles.
"""

from __future__ import annotations

import collections
import collections.abc
import json
from pathlib import Path
from typing import Any

import cloudsplaining.scan.policy_document as cloudsplaining_doc
import parliament
import pytest

from orgkit.config.loader import load_config
from orgkit.config.models import ReadRoleSpec
from orgkit.config.policies import fill_ids
from orgkit.config.roles import WantedRole, wanted_roles

REPO = Path(__file__).resolve().parents[2]
MANAGEMENT = "123456789012"
ORG_ID = "o-abcdefghij"

# Finding types that do not apply to orgkit's documents, and why.
ACCEPTED = {
    # The SAM transform's ARN is AWS's own: arn:aws:cloudformation:*:aws:transform/... has the
    # account "aws", which parliament's ARN grammar does not know.
    "INVALID_ARN": {"arn:aws:cloudformation:*:aws:transform/Serverless-2016-10-31"},
    # iam:PermissionsBoundary compares ARNs with StringEquals, as AWS's own examples do.
    "MISMATCHED_TYPE_BUT_USABLE": None,
    # Event source mappings have no ARN at creation: they are scoped by lambda:FunctionArn.
    # X-Ray, PutMetricData and the listings take no resource.
    "RESOURCE_STAR": None,
    # Trust policies are resource policies: a Principal and no Resource is their grammar.
    # GitHub's OIDC provider is a federation source parliament does not list.
    "UNKNOWN_FEDERATION_SOURCE": None,
}
TRUST_ONLY = {"MALFORMED"}  # "Statement contains neither Resource nor NotResource"


def roles() -> list[WantedRole]:
    config = load_config(REPO / "org.yaml")
    spec = config.spec
    # The read role with a trust condition (the seed's trusts the management account alone).
    declared = ReadRoleSpec(
        name="OrgkitReadOnly",
        principal_arns=[
            f"arn:aws:iam::{MANAGEMENT}:role/orgkit-ci-plan",
            f"arn:aws:iam::{MANAGEMENT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_*",
        ],
    )
    organization = spec.organization.model_copy(update={"read_role": declared})
    spec = spec.model_copy(update={"organization": organization})
    ids = {a.email.lower(): str(100000000000 + i) for i, a in enumerate(spec.accounts)}
    return wanted_roles(spec, None, MANAGEMENT, ORG_ID, ids)


def documents() -> list[tuple[str, str, dict[str, Any]]]:
    """(id, part, document) for every document of every role kind orgkit builds."""
    found = []
    seen = set()
    for wanted in roles():
        env = wanted.account.environment.value if wanted.account else "management"
        key = (wanted.role.purpose, env)
        if key in seen:
            continue
        seen.add(key)
        for part in ("trust", "permissions", "boundary"):
            document = getattr(wanted.role, part)
            if document is not None:
                found.append((f"{wanted.role.purpose}-{env}-{part}", part, document))
    return found


DOCUMENTS = documents()


def test_every_role_kind_is_covered() -> None:
    purposes = {d[0].split("-")[0] for d in DOCUMENTS}
    assert {"stackset", "deployment", "read"} <= purposes
    assert any(d[0].startswith("deployment") and d[1] == "boundary" for d in DOCUMENTS)


@pytest.mark.parametrize(("name", "part", "document"), DOCUMENTS, ids=[d[0] for d in DOCUMENTS])
def test_parliament(name: str, part: str, document: dict[str, Any]) -> None:
    policy = parliament.analyze_policy_string(json.dumps(document), include_community_auditors=True)
    unexpected = []
    for finding in policy.findings:
        accepted = ACCEPTED.get(finding.issue, ())
        location = finding.location if isinstance(finding.location, dict) else {}
        if finding.issue in TRUST_ONLY and part == "trust":
            continue
        if accepted is None or location.get("string") in (accepted or ()):
            continue
        if (
            name.startswith("stackset-execution")
            and part == "permissions"
            and (finding.issue in ("PRIVILEGE_ESCALATION", "PERMISSIONS_MANAGEMENT_ACTIONS"))
        ):
            continue  # the documented exception
        if name.startswith("stackset-administration") and finding.issue == "CREDENTIALS_EXPOSURE":
            continue  # assuming the execution roles (and only them) is what it is for
        unexpected.append((finding.issue, finding.detail, location))
    assert unexpected == []
    if part != "trust":
        # parliament stops auditing at an action it does not know: make sure it ran through.
        assert policy.get_allowed_actions(raise_exceptions=True) is not None


@pytest.mark.parametrize(
    ("name", "part", "document"),
    [d for d in DOCUMENTS if d[1] != "trust"],
    ids=[d[0] for d in DOCUMENTS if d[1] != "trust"],
)
def test_cloudsplaining(name: str, part: str, document: dict[str, Any]) -> None:
    doc = cloudsplaining_doc.PolicyDocument(document)
    if name.startswith("stackset-execution"):
        pytest.skip("the execution role administers what orgkit's templates deploy")
    assert doc.allows_privilege_escalation == []
    assert doc.permissions_management_without_constraints == []
    assert doc.credentials_exposure == []
    assert doc.allows_data_exfiltration_actions == []
    assert doc.infrastructure_modification == []


# -- local evaluation -----------------------------------------------------------------------
def _principalmapper() -> Any:
    # principalmapper 1.1.5 imports Mapping from collections (removed in Python 3.10).
    for name in ("Mapping", "MutableMapping"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    import principalmapper.common.nodes as nodes
    import principalmapper.common.policies as policies
    import principalmapper.querying.query_interface as query

    return nodes, policies, query


def deploy_role(environment: str = "prod") -> tuple[str, dict[str, Any], dict[str, Any]]:
    for wanted in roles():
        if (
            wanted.role.purpose == "deployment"
            and wanted.account is not None
            and (wanted.account.environment.value == environment)
        ):
            assert wanted.account_id and wanted.role.boundary
            return wanted.account_id, wanted.role.permissions, wanted.role.boundary
    raise AssertionError("no deployment role")


BOUNDARY_ARN = "arn:aws:iam::{a}:policy/ThemisGuardDeploymentRoleBoundary"
ADMIN = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def can(
    account: str,
    permissions: dict[str, Any],
    boundary: dict[str, Any],
    action: str,
    resource: str,
    conditions: dict[str, Any] | None = None,
) -> bool:
    nodes, policies, query = _principalmapper()
    boundary_arn = f"arn:aws:iam::{account}:policy/ThemisGuardDeploymentRoleBoundary"
    node = nodes.Node(
        f"arn:aws:iam::{account}:role/Subject",
        "AROAEXAMPLE",
        [policies.Policy(f"arn:aws:iam::{account}:role/Subject", "inline", permissions)],
        None,
        {"Version": "2012-10-17", "Statement": []},
        None,
        0,
        False,
        False,
        policies.Policy(boundary_arn, "boundary", boundary),
        False,
        None,
    )
    keys = {
        "aws:PrincipalAccount": account,
        "aws:PrincipalArn": f"arn:aws:iam::{account}:role/Subject",
        "aws:RequestedRegion": "us-east-1",
        **(conditions or {}),
    }
    # The guardrails attached at the root (with FullAWSAccess, as AWS attaches everywhere).
    scps = [policies.Policy("FullAWSAccess", "FullAWSAccess", FULL_AWS_ACCESS)] + [
        policies.Policy(name, name, document) for name, document in root_scps()
    ]
    return bool(
        query.local_check_authorization_full(
            node, action, resource, keys, service_control_policy_groups=[scps]
        )
    )


FULL_AWS_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def root_scps() -> list[tuple[str, dict[str, Any]]]:
    config = load_config(REPO / "org.yaml")
    return [
        (n, config.policies[n].document)
        for n in config.spec.organization.policies
        if config.policies[n].type == "service_control"
    ]


def test_the_evaluator_can_say_yes() -> None:
    """A control: what the role is for is allowed, so a 'no' below means something."""
    account, permissions, boundary = deploy_role()
    boundary_arn = f"arn:aws:iam::{account}:policy/ThemisGuardDeploymentRoleBoundary"
    function = f"arn:aws:lambda:us-east-1:{account}:function:themisguard-app-api"
    assert can(account, permissions, boundary, "lambda:UpdateFunctionCode", function)
    assert can(
        account,
        permissions,
        boundary,
        "iam:CreateRole",
        f"arn:aws:iam::{account}:role/themisguard-app-api",
        {"iam:PermissionsBoundary": boundary_arn},
    )
    assert can(
        account,
        permissions,
        boundary,
        "iam:AttachRolePolicy",
        f"arn:aws:iam::{account}:role/themisguard-app-api",
        {
            "iam:PermissionsBoundary": boundary_arn,
            "iam:PolicyARN": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        },
    )
    assert can(account, permissions, boundary, "logs:DescribeLogGroups", "*")
    assert can(
        account,
        permissions,
        boundary,
        "lambda:CreateEventSourceMapping",
        "*",
        {"lambda:FunctionArn": function},
    )
    assert can(
        account,
        permissions,
        boundary,
        "wafv2:AssociateWebACL",
        f"arn:aws:wafv2:us-east-1:{account}:regional/webacl/themisguard-prod-web-acl/abc",
    )
    assert can(
        account,
        permissions,
        boundary,
        "dynamodb:DeleteTable",
        f"arn:aws:dynamodb:us-east-1:{account}:table/themisguard-app-cache",
    )


@pytest.mark.parametrize(
    ("action", "resource", "conditions"),
    [
        ("iam:CreateUser", "arn:aws:iam::{a}:user/backdoor", {}),
        ("iam:CreateAccessKey", "arn:aws:iam::{a}:user/someone", {}),
        ("iam:CreateLoginProfile", "arn:aws:iam::{a}:user/someone", {}),
        ("iam:CreateOpenIDConnectProvider", "arn:aws:iam::{a}:oidc-provider/evil.example", {}),
        ("iam:CreatePolicy", "arn:aws:iam::{a}:policy/themisguard-wide", {}),
        (
            "iam:CreatePolicyVersion",
            "arn:aws:iam::{a}:policy/ThemisGuardDeploymentRoleBoundary",
            {},
        ),
        ("iam:DeleteRolePermissionsBoundary", "arn:aws:iam::{a}:role/themisguard-app-api", {}),
        (
            "iam:CreateRole",
            "arn:aws:iam::{a}:role/themisguard-app-free",
            {"iam:PermissionsBoundary": "arn:aws:iam::{a}:policy/Other"},
        ),
        ("iam:CreateRole", "arn:aws:iam::{a}:role/themisguard-app-free", {}),
        (
            "iam:AttachRolePolicy",
            "arn:aws:iam::{a}:role/themisguard-app-api",
            {
                "iam:PermissionsBoundary": BOUNDARY_ARN,
                "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess",
            },
        ),
        ("iam:UpdateAssumeRolePolicy", "arn:aws:iam::{a}:role/OrganizationAccountAccessRole", {}),
        ("iam:PutRolePolicy", "arn:aws:iam::{a}:role/ThemisGuardDeploymentRole", {}),
        ("iam:PutRolePolicy", "arn:aws:iam::{a}:role/AWSCloudFormationStackSetExecutionRole", {}),
        ("iam:PassRole", "arn:aws:iam::{a}:role/OrganizationAccountAccessRole", {}),
        ("organizations:LeaveOrganization", "*", {}),
        (
            "dynamodb:DeleteTable",
            "arn:aws:dynamodb:us-east-1:{a}:table/themisguard-prod-customers",
            {},
        ),
        (
            "dynamodb:UpdateContinuousBackups",
            "arn:aws:dynamodb:us-east-1:{a}:table/themisguard-prod-customers",
            {},
        ),
        ("s3:DeleteBucket", "arn:aws:s3:::themisguard-prod-data-{a}-us-east-1", {}),
        ("s3:PutBucketPolicy", "arn:aws:s3:::themisguard-prod-artifacts-{a}-us-east-1", {}),
        ("kms:ScheduleKeyDeletion", "arn:aws:kms:us-east-1:{a}:key/1234", {}),
        ("kms:PutKeyPolicy", "arn:aws:kms:us-east-1:{a}:key/1234", {}),
        (
            "backup:DeleteBackupVault",
            "arn:aws:backup:us-east-1:{a}:backup-vault:themisguard-prod-backups",
            {},
        ),
        (
            "backup:PutBackupVaultAccessPolicy",
            "arn:aws:backup:us-east-1:{a}:backup-vault:themisguard-prod-backups",
            {},
        ),
    ],
)
def test_no_path_to_admin_or_to_the_platform_data(
    action: str, resource: str, conditions: dict[str, str]
) -> None:
    account, permissions, boundary = deploy_role()
    resource = resource.format(a=account)
    conditions = {k: v.format(a=account) for k, v in conditions.items()}
    assert not can(account, permissions, boundary, action, resource, conditions)


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:CreateUser", "arn:aws:iam::{a}:user/backdoor"),
        ("iam:CreateAccessKey", "arn:aws:iam::{a}:user/backdoor"),
        ("iam:AttachRolePolicy", "arn:aws:iam::{a}:role/themisguard-app-api"),
        ("iam:CreatePolicyVersion", "arn:aws:iam::{a}:policy/ThemisGuardDeploymentRoleBoundary"),
        ("iam:UpdateAssumeRolePolicy", "arn:aws:iam::{a}:role/ThemisGuardDeploymentRole"),
        ("dynamodb:DeleteTable", "arn:aws:dynamodb:us-east-1:{a}:table/themisguard-prod-customers"),
        ("s3:DeleteBucket", "arn:aws:s3:::themisguard-prod-data-{a}-us-east-1"),
        ("iam:CreateRole", "arn:aws:iam::{a}:role/themisguard-x/unbounded"),
        ("iam:PassRole", "arn:aws:iam::{a}:role/themisguard-x/unbounded"),
        (
            "cloudwatch:PutMetricAlarm",
            "arn:aws:cloudwatch:us-east-1:{a}:alarm:themisguard-prod-lambda-errors",
        ),
        ("sns:Subscribe", "arn:aws:sns:us-east-1:{a}:themisguard-prod-alerts"),
        (
            "wafv2:DisassociateWebACL",
            "arn:aws:wafv2:us-east-1:{a}:regional/webacl/themisguard-prod-web-acl/x",
        ),
        ("s3:PutObject", "arn:aws:s3:::themisguard-loot/stolen"),
        ("events:PutPermission", "arn:aws:events:us-east-1:{a}:event-bus/default"),
    ],
)
def test_a_role_made_with_admin_permissions_is_still_bounded(action: str, resource: str) -> None:
    """The escalation path the review found: create a role with the boundary, give it
    AdministratorAccess (refused above, but suppose a policy with '*' put inline), then act
    from it. The boundary stops every IAM step; the protect-platform-data guardrail stops the
    platform's data being destroyed, for this role as for anyone."""
    account, _, boundary = deploy_role()
    conditions = {"s3:ResourceAccount": "999999999999"} if "loot" in resource else {}
    assert not can(account, ADMIN, boundary, action, resource.format(a=account), conditions)


def scps() -> list[tuple[str, dict[str, Any]]]:
    config = load_config(REPO / "org.yaml")
    return sorted(
        (name, doc.document)
        for name, doc in config.policies.items()
        if doc.type == "service_control"
    )


def rcps() -> list[tuple[str, dict[str, Any]]]:
    """The seed's RCPs as AWS receives them (the organization id filled in)."""
    config = load_config(REPO / "org.yaml")
    return sorted(
        (name, fill_ids(doc.document, ORG_ID, MANAGEMENT))
        for name, doc in config.policies.items()
        if doc.type == "resource_control"
    )


@pytest.mark.parametrize(("name", "document"), scps(), ids=[n for n, _ in scps()])
def test_scps_lint_clean_and_name_only_real_actions(name: str, document: dict[str, Any]) -> None:
    policy = parliament.analyze_policy_string(json.dumps(document), include_community_auditors=True)
    assert [(f.issue, f.detail) for f in policy.findings] == []
    for statement in document["Statement"]:
        actions = statement.get("Action") or statement.get("NotAction")
        for action in [actions] if isinstance(actions, str) else actions:
            parliament.expand_action(action)  # raises on an action IAM does not have


def test_guardrails_exempt_exact_roles_only() -> None:
    """No wildcard exemption such as role/orgkit-*: only the roles orgkit really uses."""
    text = json.dumps(dict(scps()))
    assert "orgkit-*" not in text
    exempt = {
        arn
        for _, document in scps()
        for statement in document["Statement"]
        for arn in statement.get("Condition", {}).get("ArnNotLike", {}).get("aws:PrincipalArn", [])
    }
    assert exempt == {
        "arn:aws:iam::*:role/OrganizationAccountAccessRole",
        "arn:aws:iam::*:role/AWSCloudFormationStackSetExecutionRole",
        "arn:aws:iam::*:role/LogArchiveBreakGlass",  # protect-log-archive's break glass
    }


def test_the_seed_declares_rcps() -> None:
    assert [name for name, _ in rcps()] == ["data-perimeter"]


@pytest.mark.parametrize(("name", "document"), rcps(), ids=[n for n, _ in rcps()])
def test_rcps_lint_clean_and_name_only_real_actions(name: str, document: dict[str, Any]) -> None:
    """parliament reads an RCP as a resource policy (Principal "*", Deny). Its list of global
    condition keys predates aws:SourceOrgID, which AWS documents as global (and its
    data-perimeter examples use in RCPs): that finding, and only that one, is accepted.
    cloudsplaining looks for what a policy allows; an RCP allows nothing, so it has nothing to
    say here."""
    policy = parliament.analyze_policy_string(json.dumps(document), include_community_auditors=True)
    findings = [
        (f.issue, f.detail)
        for f in policy.findings
        if not (f.issue == "UNKNOWN_CONDITION_FOR_ACTION" and "aws:SourceOrgID" in f.detail)
    ]
    assert findings == []
    for statement in document["Statement"]:
        assert (statement["Effect"], statement["Principal"]) == ("Deny", "*")
        for action in statement["Action"]:
            parliament.expand_action(action)  # raises on an action IAM does not have


def test_the_data_perimeter_keeps_out_other_organizations_and_nobody_inside() -> None:
    """Each statement denies only when the caller (or the service's source) is outside this
    organization: the ids it compares are this organization's."""
    [(_, document)] = rcps()
    identities, deputies = document["Statement"]
    assert identities["Condition"] == {
        "StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG_ID},
        "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
    }
    # Federated callers (the deployment role's GitHub OIDC) have no PrincipalOrgID: left out.
    assert not {"sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML", "sts:*"} & set(
        identities["Action"]
    )
    assert deputies["Condition"]["StringNotEqualsIfExists"] == {"aws:SourceOrgID": ORG_ID}
    assert deputies["Condition"]["Bool"] == {"aws:PrincipalIsAWSService": "true"}


def test_the_platform_backup_vault_is_kept_by_the_guardrail_alone() -> None:
    """Even an administrator (no boundary in the way) of a member account cannot delete or
    open up the platform's backup vault: protect-platform-data denies it. Another vault of the
    same account stays theirs, so the deny is the guardrail's, not a missing permission."""
    account = "222222222222"
    vault = f"arn:aws:backup:us-east-1:{account}:backup-vault:themisguard-prod-backups"
    for action in ("backup:DeleteBackupVault", "backup:PutBackupVaultAccessPolicy"):
        assert not can(account, ADMIN, ADMIN, action, vault)
    other = f"arn:aws:backup:us-east-1:{account}:backup-vault:scratch"
    assert can(account, ADMIN, ADMIN, "backup:DeleteBackupVault", other)
