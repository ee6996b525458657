"""orgkit's CloudFormation templates deployed as SELF_MANAGED stack sets on the sandbox.

Each template is rendered as orgkit renders it (jinja2, StrictUndefined), created as a stack set in
the management account and instantiated in one member account per environment; the resources are
then checked with each member account's own credentials.

The templates are written for real AWS; moto 5.2 deploys them only because the sandbox extends it
(orgkit/sandbox/extensions.py, installed by the ``sandbox`` fixture's server):
- AWS::KMS::Key Tags in CloudFormation's Key/Value shape (moto wants TagKey/TagValue) and a
  KeyPolicy given as an object (moto stores it unserialised, breaking DescribeKey);
- Outputs with both a Condition and an Export are skipped when the condition is false;
- stand-ins for AWS::WAFv2::WebACL, AWS::GuardDuty::Detector, AWS::CloudWatch::Alarm and
  AWS::Backup::BackupVault, created through moto's WAFv2, GuardDuty, CloudWatch and AWS Backup
  backends (and deleted with the stack);
- (unrelated to templates) the budgets calls UpdateBudget, DescribeSubscribersForNotification and
  DescribeBudgetNotificationsForAccount.

moto's stack sets, as seen here: the administration / execution roles are never checked (no
permissions are evaluated), so these tests do not create them; instance stacks are named
``StackSet:<name>`` in the target account; ParameterOverrides *replace* the stack set's Parameters
(AWS merges them); a failing instance makes CreateStackInstances itself raise and leaves its
stack behind, so a retry hits AlreadyExistsException.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orgkit.render.jinja import environment
from orgkit.sandbox.server import Sandbox

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
REGION = "us-east-1"
ENVIRONMENTS = ("dev", "staging", "prod")
CONTEXT: dict[str, Any] = {
    "project": "themisguard",
    "vars": {"allowed_regions": ["us-east-1", "us-west-2"]},
    "organization": {
        "name": "DELATSI LLC",
        "management_account_id": "123456789012",
        "access_role": "OrganizationAccountAccessRole",
        "home_region": "us-east-1",
        "tags": {"Owner": "platform@delatsi-llc.com"},
    },
    "security": {
        "trail_name": "organization-trail",
        "log_archive_account": "log-archive@delatsi-llc.com",
        "break_glass_role": "LogArchiveBreakGlass",
    },
}
PLATFORM_TABLES = ("customers", "subscriptions", "webhook-events", "usage-records")


def render(name: str) -> str:
    source = (TEMPLATES / f"{name}.yaml.j2").read_text()
    return environment(TEMPLATES).from_string(source).render(**CONTEXT, stack_set=name)


def create_members(box: Sandbox) -> dict[str, str]:
    """One member account per environment: {environment: account id}."""
    org = box.client("organizations")
    members = {}
    for env in ENVIRONMENTS:
        status = org.create_account(
            Email=f"{env}@delatsi-llc.com", AccountName=f"themisguard-{env}"
        )["CreateAccountStatus"]
        members[env] = status["AccountId"]
    return members


def deploy(box: Sandbox, name: str, members: dict[str, str]) -> None:
    """orgkit's path: a SELF_MANAGED stack set, then one instance per account (its Environment)."""
    cfn = box.client("cloudformation")
    cfn.create_stack_set(
        StackSetName=name,
        TemplateBody=render(name),
        PermissionModel="SELF_MANAGED",
        Parameters=[
            {"ParameterKey": "Environment", "ParameterValue": "dev"},
            *(
                [{"ParameterKey": "AlertEmail", "ParameterValue": "oncall@delatsi-llc.com"}]
                if "AlertEmail:" in render(name)
                else []
            ),
        ],
        Capabilities=["CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    for env, account in members.items():
        operation = cfn.create_stack_instances(
            StackSetName=name,
            Accounts=[account],
            Regions=[REGION],
            ParameterOverrides=[{"ParameterKey": "Environment", "ParameterValue": env}],
        )["OperationId"]
        described = cfn.describe_stack_set_operation(StackSetName=name, OperationId=operation)
        assert described["StackSetOperation"]["Status"] == "SUCCEEDED"


def instance_stack(box: Sandbox, account: str, name: str) -> dict[str, Any]:
    """The stack moto made for the instance, as the member account sees it."""
    cfn = box.member_client(account, "cloudformation")
    stack: dict[str, Any] = cfn.describe_stacks(StackName=f"StackSet:{name}")["Stacks"][0]
    return stack


def bucket_names(box: Sandbox, account: str) -> set[str]:
    return {b["Name"] for b in box.member_client(account, "s3").list_buckets()["Buckets"]}


def topic_names(box: Sandbox, account: str) -> set[str]:
    topics = box.member_client(account, "sns").list_topics()["Topics"]
    return {t["TopicArn"].rsplit(":", 1)[1] for t in topics}


@pytest.fixture
def members(sandbox: Sandbox) -> dict[str, str]:
    return create_members(sandbox)


def test_platform_stack_set_reaches_every_environment(
    sandbox: Sandbox, members: dict[str, str]
) -> None:
    deploy(sandbox, "themisguard-platform", members)

    for env, account in members.items():
        stack = instance_stack(sandbox, account, "themisguard-platform")
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        assert outputs["Environment"] == env  # the instance's ParameterOverrides applied

        tables = set(sandbox.member_client(account, "dynamodb").list_tables()["TableNames"])
        assert tables == {f"themisguard-{env}-{t}" for t in PLATFORM_TABLES}
        assert {
            f"themisguard-{env}-artifacts-{account}-{REGION}",
            f"themisguard-{env}-data-{account}-{REGION}",
        } <= bucket_names(sandbox, account)
        assert f"themisguard-{env}-alerts" in topic_names(sandbox, account)

        acls = sandbox.member_client(account, "wafv2").list_web_acls(Scope="REGIONAL")["WebACLs"]
        expected_acls = ["themisguard-prod-web-acl"] if env == "prod" else []
        assert [a["Name"] for a in acls] == expected_acls
        assert ("WebAclArn" in outputs) == (env == "prod")

        # What the organization's backup policy names exists in prod, and only there.
        vaults = sandbox.member_client(account, "backup").list_backup_vaults()["BackupVaultList"]
        expected_vaults = ["themisguard-prod-backups"] if env == "prod" else []
        assert [v["BackupVaultName"] for v in vaults] == expected_vaults
        roles = {r["RoleName"] for r in sandbox.member_client(account, "iam").list_roles()["Roles"]}
        assert ("themisguard-prod-backup" in roles) == (env == "prod")
        assert ("BackupRoleArn" in outputs) == (env == "prod")
        table = sandbox.member_client(account, "dynamodb").describe_table(
            TableName=f"themisguard-{env}-customers"
        )["Table"]
        table_tags = sandbox.member_client(account, "dynamodb").list_tags_of_resource(
            ResourceArn=table["TableArn"]
        )["Tags"]
        assert {"Key": "Backup", "Value": "daily"} in table_tags

        assert len(sandbox.member_client(account, "guardduty").list_detectors()["DetectorIds"]) == 1
        kms = sandbox.member_client(account, "kms")
        key = kms.describe_key(KeyId=outputs["KmsKeyArn"])["KeyMetadata"]
        assert key["Description"].startswith(f"themisguard {env}: DynamoDB tables")
        assert {"TagKey": "Environment", "TagValue": env} in kms.list_resource_tags(
            KeyId=key["KeyId"]
        )["Tags"]
        alarms = sandbox.member_client(account, "cloudwatch").describe_alarms()["MetricAlarms"]
        assert len(alarms) == 7
        assert {a["AlarmName"].split("-")[1] for a in alarms} == {env}

    # Nothing landed in the management account.
    assert sandbox.client("dynamodb").list_tables()["TableNames"] == []


def test_security_baseline_stack_set_reaches_every_environment(
    sandbox: Sandbox, members: dict[str, str]
) -> None:
    deploy(sandbox, "security-baseline", members)

    for account in members.values():
        assert instance_stack(sandbox, account, "security-baseline")["StackStatus"] == (
            "CREATE_COMPLETE"
        )
        assert "security-alerts" in topic_names(sandbox, account)
        assert len(sandbox.member_client(account, "guardduty").list_detectors()["DetectorIds"]) == 1


def test_log_archive_stack_set_reaches_every_environment(
    sandbox: Sandbox, members: dict[str, str]
) -> None:
    deploy(sandbox, "log-archive", members)

    for account in members.values():
        assert instance_stack(sandbox, account, "log-archive")["StackStatus"] == "CREATE_COMPLETE"
        assert f"delatsi-llc-cloudtrail-logs-{account}-{REGION}" in bucket_names(sandbox, account)


def test_deleting_an_instance_removes_the_stand_in_resources(
    sandbox: Sandbox, members: dict[str, str]
) -> None:
    dev = {"dev": members["dev"]}
    deploy(sandbox, "themisguard-platform", dev)
    cloudwatch = sandbox.member_client(members["dev"], "cloudwatch")
    guardduty = sandbox.member_client(members["dev"], "guardduty")
    assert len(cloudwatch.describe_alarms()["MetricAlarms"]) == 7

    sandbox.client("cloudformation").delete_stack_instances(
        StackSetName="themisguard-platform",
        Accounts=[members["dev"]],
        Regions=[REGION],
        RetainStacks=False,
    )

    assert cloudwatch.describe_alarms()["MetricAlarms"] == []
    assert guardduty.list_detectors()["DetectorIds"] == []


def test_every_policy_type_can_be_created_listed_and_attached(sandbox: Sandbox) -> None:
    """moto cannot create BACKUP_POLICY policies (NotImplementedError); the sandbox can, with a
    backup policy's ARN, like the other types."""
    org = sandbox.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    created = {}
    for policy_type in (
        "SERVICE_CONTROL_POLICY",
        "RESOURCE_CONTROL_POLICY",
        "TAG_POLICY",
        "BACKUP_POLICY",
        "AISERVICES_OPT_OUT_POLICY",
    ):
        org.enable_policy_type(RootId=root, PolicyType=policy_type)
        summary = org.create_policy(
            Name=f"p-{policy_type.lower()}",
            Description="",
            Type=policy_type,
            Content='{"plans": {}}',
        )["Policy"]["PolicySummary"]
        org.attach_policy(PolicyId=summary["Id"], TargetId=root)
        created[policy_type] = summary

    backup = created["BACKUP_POLICY"]
    assert backup["Type"] == "BACKUP_POLICY"
    assert "/backup_policy/" in backup["Arn"]
    listed = org.list_policies(Filter="BACKUP_POLICY")["Policies"]
    assert [p["Id"] for p in listed] == [backup["Id"]]
    described = org.describe_policy(PolicyId=backup["Id"])["Policy"]
    assert described["Content"] == '{"plans": {}}'
    targets = org.list_targets_for_policy(PolicyId=backup["Id"])["Targets"]
    assert [t["TargetId"] for t in targets] == [root]
    # The other types keep moto's own ARNs.
    assert "/tag_policy/" in created["TAG_POLICY"]["Arn"]
