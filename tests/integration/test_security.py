"""The Security OU's job (trusted access, delegated administrators, GuardDuty and Security Hub
in every allowed region, the organization trail, the Log Archive guardrail), applied to the
sandbox and checked with raw boto3; then a hand change to each is planned back and drifts.

The emulator cannot show: CloudTrail delivering to the bucket, the bucket and key policies being
evaluated, SCPs being enforced, GuardDuty auto-enabling members, Security Hub importing
GuardDuty's findings, or the Access Analyzer and Config aggregator resources (moto's
CloudFormation skips those types); docs/sandbox.md lists them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orgkit import workflow
from orgkit.live import AwsContext
from orgkit.plan import Action, PlanOptions
from orgkit.sandbox.server import Sandbox
from tests.helpers import RecordingReporter, account_ids, converged, edit_yaml, replan

REGIONS = ["us-east-1", "us-west-2"]
PRINCIPALS = {
    "access-analyzer.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "config.amazonaws.com",
    "guardduty.amazonaws.com",
    "securityhub.amazonaws.com",
}


def security_and_structure(data: dict[str, Any]) -> None:
    """The seed without what does not concern the Security OU (budgets, deployment roles, the
    baseline and platform stack sets): the log-archive stack set stays, the trail needs it."""
    data.pop("budgets")
    data["stack_sets"] = [s for s in data["stack_sets"] if s["name"] == "log-archive"]
    for project in data["projects"]:
        project.pop("deployment_role", None)


@pytest.fixture
def applied(sandbox: Sandbox, seed_dir: Path) -> Path:
    config = seed_dir / "org.yaml"
    edit_yaml(config, security_and_structure)
    converged(config)
    return config


def log_archive_outputs(sandbox: Sandbox, account_id: str) -> dict[str, str]:
    stacks = sandbox.member_client(account_id, "cloudformation").describe_stacks()["Stacks"]
    stack = next(s for s in stacks if s["StackName"] == "StackSet:log-archive")
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def test_the_security_ou_is_set_up_as_declared(sandbox: Sandbox, applied: Path) -> None:
    ids = account_ids(sandbox)
    tooling, audit = ids["security-tooling@delatsi-llc.com"], ids["audit@delatsi-llc.com"]
    log_archive = ids["log-archive@delatsi-llc.com"]
    org = sandbox.client("organizations")

    trusted = org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert {s["ServicePrincipal"] for s in trusted} == PRINCIPALS

    delegated = {}
    for admin in org.list_delegated_administrators()["DelegatedAdministrators"]:
        for service in org.list_delegated_services_for_account(AccountId=admin["Id"])[
            "DelegatedServices"
        ]:
            delegated[service["ServicePrincipal"]] = admin["Id"]
    assert delegated == {
        "guardduty.amazonaws.com": tooling,
        "securityhub.amazonaws.com": tooling,
        "config.amazonaws.com": audit,
        "access-analyzer.amazonaws.com": audit,
    }

    for region in REGIONS:
        guardduty = sandbox.client("guardduty", region_name=region)
        admins = guardduty.list_organization_admin_accounts()["AdminAccounts"]
        assert {a["AdminAccountId"] for a in admins} == {tooling}
        inside = sandbox.member_client(tooling, "guardduty", region=region)
        detector = inside.list_detectors()["DetectorIds"][0]
        assert inside.get_detector(DetectorId=detector)["FindingPublishingFrequency"] == (
            "FIFTEEN_MINUTES"
        )
        organization = inside.describe_organization_configuration(DetectorId=detector)
        assert organization["AutoEnableOrganizationMembers"] == "ALL"

        hub = sandbox.client("securityhub", region_name=region)
        assert [
            a["AccountId"] for a in hub.list_organization_admin_accounts()["AdminAccounts"]
        ] == [tooling]
        inside_hub = sandbox.member_client(tooling, "securityhub", region=region)
        assert inside_hub.describe_organization_configuration()["AutoEnable"] is True
    aggregators = sandbox.member_client(tooling, "securityhub").list_finding_aggregators()
    arn = aggregators["FindingAggregators"][0]["FindingAggregatorArn"]
    found = sandbox.member_client(tooling, "securityhub").get_finding_aggregator(
        FindingAggregatorArn=arn
    )
    assert (found["RegionLinkingMode"], found["Regions"]) == ("SPECIFIED_REGIONS", ["us-west-2"])

    cloudtrail = sandbox.client("cloudtrail")
    (trail,) = cloudtrail.describe_trails(trailNameList=["organization-trail"])["trailList"]
    outputs = log_archive_outputs(sandbox, log_archive)
    assert trail["IsOrganizationTrail"] and trail["IsMultiRegionTrail"]
    assert trail["LogFileValidationEnabled"] and trail["IncludeGlobalServiceEvents"]
    assert trail["S3BucketName"] == outputs["BucketName"]
    assert trail["KmsKeyId"] == outputs["KmsKeyArn"]
    assert f":{log_archive}:" in outputs["KmsKeyArn"]  # the Log Archive account's key
    buckets = sandbox.member_client(log_archive, "s3").list_buckets()["Buckets"]
    assert outputs["BucketName"] in {b["Name"] for b in buckets}
    assert cloudtrail.get_trail_status(Name=trail["TrailARN"])["IsLogging"] is True

    guardrail = next(
        p
        for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
        if p["Name"] == "protect-log-archive"
    )
    targets = org.list_targets_for_policy(PolicyId=guardrail["Id"])["Targets"]
    assert [t["TargetId"] for t in targets] == [log_archive]


def test_hand_changes_to_each_piece_are_planned_back_and_drift(
    sandbox: Sandbox, applied: Path
) -> None:
    ids = account_ids(sandbox)
    tooling = ids["security-tooling@delatsi-llc.com"]
    org = sandbox.client("organizations")
    # Someone turns things off by hand.
    cloudtrail = sandbox.client("cloudtrail")
    cloudtrail.stop_logging(Name="organization-trail")
    cloudtrail.update_trail(Name="organization-trail", EnableLogFileValidation=False)
    org.disable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    org.deregister_delegated_administrator(
        AccountId=ids["audit@delatsi-llc.com"], ServicePrincipal="config.amazonaws.com"
    )
    inside = sandbox.member_client(tooling, "guardduty", region="us-west-2")
    detector = inside.list_detectors()["DetectorIds"][0]
    inside.update_organization_configuration(
        DetectorId=detector, AutoEnableOrganizationMembers="NONE"
    )
    sandbox.member_client(tooling, "securityhub").update_organization_configuration(
        AutoEnable=False
    )
    guardrail = next(
        p
        for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
        if p["Name"] == "protect-log-archive"
    )
    org.detach_policy(PolicyId=guardrail["Id"], TargetId=ids["log-archive@delatsi-llc.com"])

    expected = {
        ('trail["organization-trail"]', Action.UPDATE),
        ('trusted_access["cloudtrail.amazonaws.com"]', Action.CREATE),
        ('delegated_admin["config.amazonaws.com"]', Action.CREATE),
        ('security_service["guardduty" -> "us-west-2"]', Action.UPDATE),
        ('security_service["securityhub" -> "us-east-1"]', Action.UPDATE),
        # moto keeps Security Hub's organization configuration once per organization (AWS: per
        # region), so the change made in us-east-1 shows in us-west-2 too.
        ('security_service["securityhub" -> "us-west-2"]', Action.UPDATE),
        (
            'policy_attachment["protect-log-archive" -> "log-archive@delatsi-llc.com"]',
            Action.CREATE,
        ),
    }
    planned = replan(applied)
    assert {(c.address, c.action) for c in planned.plan.changes} == expected
    trail = next(c for c in planned.plan.changes if c.kind == "trail")
    assert trail.before is not None and trail.after is not None
    before, after = trail.before.dump(), trail.after.dump()
    assert (before["logging"], before["log_file_validation"]) == (False, False)
    assert (after["logging"], after["log_file_validation"]) == (True, True)

    report = workflow.audit(applied, AwsContext())
    assert {f.address for f in report.findings} == {address for address, _ in expected}
    (trail_finding,) = [f for f in report.findings if f.kind == "trail"]
    differs = {
        key
        for key in trail_finding.expected
        if trail_finding.expected[key] != trail_finding.actual.get(key)
    }
    assert differs == {"logging", "log_file_validation"}  # nothing but what was changed

    converged(applied)
    (status,) = [cloudtrail.get_trail_status(Name="organization-trail")]
    assert status["IsLogging"] is True
    assert workflow.audit(applied, AwsContext()).in_sync


def test_a_different_administrator_is_a_warning_never_moved(
    sandbox: Sandbox, applied: Path
) -> None:
    """Moving a security service's administration is done by hand: orgkit says so."""

    def to_audit(data: dict[str, Any]) -> None:
        data["security"]["delegated_admins"]["config"] = "security-tooling@delatsi-llc.com"
        data["security"]["delegated_admins"]["guardduty"] = "audit@delatsi-llc.com"

    edit_yaml(applied, to_audit)
    planned = replan(applied)
    assert planned.plan.empty
    warnings = planned.plan.warnings
    assert any("config is administered from audit@delatsi-llc.com" in w for w in warnings)
    for region in REGIONS:  # and GuardDuty in each region, by its own administrator list
        assert any(
            f"guardduty in {region} is administered from security-tooling@delatsi-llc.com" in w
            for w in warnings
        ), warnings


def test_a_trail_destination_outside_the_log_archive_account_is_refused(
    sandbox: Sandbox, applied: Path
) -> None:
    """The trail follows the log-archive stack's outputs, but only to the Log Archive account's
    own bucket and key: outputs edited to point elsewhere are refused, nothing changes."""
    from orgkit.errors import AwsError

    ids = account_ids(sandbox)
    log_archive, audit = ids["log-archive@delatsi-llc.com"], ids["audit@delatsi-llc.com"]
    elsewhere = sandbox.member_client(audit, "kms").create_key()["KeyMetadata"]["Arn"]
    cfn = sandbox.member_client(log_archive, "cloudformation")
    body = cfn.get_template(StackName="StackSet:log-archive")["TemplateBody"]
    parameters = cfn.describe_stacks(StackName="StackSet:log-archive")["Stacks"][0]["Parameters"]
    tampered = body.replace("Value: !GetAtt CloudTrailKey.Arn", f"Value: {elsewhere}")
    assert tampered != body
    cfn.update_stack(
        StackName="StackSet:log-archive",
        TemplateBody=tampered,
        Parameters=[
            {"ParameterKey": p["ParameterKey"], "ParameterValue": p["ParameterValue"]}
            for p in parameters
        ],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    planned = replan(applied)
    (change,) = [c for c in planned.plan.changes if c.kind == "trail"]
    assert change.after is not None and change.after.dump()["kms_key_id"] == elsewhere
    with pytest.raises(AwsError, match="is not a KMS key of the Log Archive account"):
        workflow.run_apply(planned, AwsContext(), RecordingReporter(), PlanOptions())
    (trail,) = sandbox.client("cloudtrail").describe_trails(trailNameList=["organization-trail"])[
        "trailList"
    ]
    assert f":{log_archive}:" in trail["KmsKeyId"]  # unchanged
