"""Stack sets on a moto server: what each instance creates really exists in its account.

moto deploys self-managed stack instances as real stacks in the member accounts, so tables,
buckets and topics are checked there with the member's own credentials. moto does not
redeploy instances when a stack set is updated (UpdateStackSet only stores the new template):
the update tests check what orgkit sends and that the plan converges, not a redeploy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orgkit import workflow
from orgkit.kinds.stack_set import KIND as KIND_OF_STACK_SET
from orgkit.live import AwsContext
from orgkit.plan import Action, PlanOptions, plan
from orgkit.sandbox.server import Sandbox
from tests.helpers import RecordingReporter, account_ids, converged, edit_yaml, replan, sides

ENVIRONMENTS = ("dev", "staging", "prod")
TABLES = ("customers", "subscriptions", "webhook-events", "usage-records")


@pytest.fixture
def applied(sandbox: Sandbox, seed_dir: Path) -> Path:
    config = seed_dir / "org.yaml"
    converged(config)
    return config


def stack_outputs(box: Sandbox, account_id: str, stack_set: str) -> dict[str, str]:
    cfn = box.member_client(account_id, "cloudformation")
    stack = cfn.describe_stacks(StackName=f"StackSet:{stack_set}")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def platform(data: dict[str, Any]) -> dict[str, Any]:
    """The seed's themisguard-platform stack set in an org.yaml mapping."""
    return next(s for s in data["stack_sets"] if s["name"] == "themisguard-platform")


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_themisguard_platform_exists_in_each_environment_account(
    sandbox: Sandbox, applied: Path, environment: str
) -> None:
    account_id = account_ids(sandbox)[f"themisguard-{environment}@delatsi-llc.com"]
    dynamodb = sandbox.member_client(account_id, "dynamodb")
    tables = set(dynamodb.list_tables()["TableNames"])
    assert {f"themisguard-{environment}-{t}" for t in TABLES} <= tables
    for table in TABLES:
        described = dynamodb.describe_table(TableName=f"themisguard-{environment}-{table}")
        assert described["Table"]["StreamSpecification"]["StreamEnabled"] is True
    buckets = {b["Name"] for b in sandbox.member_client(account_id, "s3").list_buckets()["Buckets"]}
    assert f"themisguard-{environment}-artifacts-{account_id}-us-east-1" in buckets
    assert f"themisguard-{environment}-data-{account_id}-us-east-1" in buckets
    outputs = stack_outputs(sandbox, account_id, "themisguard-platform")
    assert outputs["Environment"] == environment
    # Environment-specific settings: the WAF web ACL is prod's alone, retention differs.
    assert ("WebAclArn" in outputs) is (environment == "prod")
    acls = sandbox.member_client(account_id, "wafv2").list_web_acls(Scope="REGIONAL")["WebACLs"]
    assert bool(acls) is (environment == "prod")
    retention = {"dev": "14", "staging": "30", "prod": "365"}[environment]
    assert outputs["LogRetentionDays"] == retention


def test_platform_is_not_deployed_outside_its_targets(sandbox: Sandbox, applied: Path) -> None:
    ids = account_ids(sandbox)
    for email in ("shared-services-prod@delatsi-llc.com", "audit@delatsi-llc.com"):
        tables = sandbox.member_client(ids[email], "dynamodb").list_tables()["TableNames"]
        assert not [t for t in tables if t.startswith("themisguard-")]


def test_baseline_in_every_account_and_log_archive_bucket(sandbox: Sandbox, applied: Path) -> None:
    ids = account_ids(sandbox)
    for email, account_id in ids.items():
        if account_id == "123456789012":
            continue
        topics = sandbox.member_client(account_id, "sns").list_topics()["Topics"]
        assert any(t["TopicArn"].endswith(":security-alerts") for t in topics), email
    archive = ids["log-archive@delatsi-llc.com"]
    buckets = {b["Name"] for b in sandbox.member_client(archive, "s3").list_buckets()["Buckets"]}
    assert f"delatsi-llc-cloudtrail-logs-{archive}-us-east-1" in buckets
    instances = sandbox.client("cloudformation").list_stack_instances(StackSetName="log-archive")[
        "Summaries"
    ]
    assert [i["Account"] for i in instances] == [archive]


def test_stack_set_parameter_edit_is_a_stack_set_update_and_nothing_else(
    sandbox: Sandbox, applied: Path
) -> None:
    edit_yaml(applied, lambda d: platform(d)["parameters"].update(WafRateLimit=2000))
    planned = replan(applied)
    assert [(c.kind, c.action, c.address) for c in planned.plan.changes] == [
        ("stack_set", Action.UPDATE, 'stack_set["themisguard-platform"]')
    ]
    change = planned.plan.changes[0]
    assert change.to_dict()["before"]["differs"] == ["parameters"]
    assert (
        sides(change)[0]["parameters"]["WafRateLimit"],
        sides(change)[1]["parameters"]["WafRateLimit"],
    ) == ("1000", "2000")
    converged(applied)
    parameters = sandbox.client("cloudformation").describe_stack_set(
        StackSetName="themisguard-platform"
    )["StackSet"]["Parameters"]
    assert {"ParameterKey": "WafRateLimit", "ParameterValue": "2000"} in parameters


def test_template_edit_plans_an_update_with_a_diff(sandbox: Sandbox, applied: Path) -> None:
    template = applied.parent / "templates" / "security-baseline.yaml.j2"
    template.write_text(
        template.read_text().replace(
            "FindingPublishingFrequency: FIFTEEN_MINUTES", "FindingPublishingFrequency: ONE_HOUR"
        )
    )
    planned = replan(applied)
    assert [c.address for c in planned.plan.changes] == ['stack_set["security-baseline"]']
    change = planned.plan.changes[0]
    assert change.to_dict()["before"]["differs"] == ["template"]
    converged(applied)
    body = sandbox.client("cloudformation").describe_stack_set(StackSetName="security-baseline")[
        "StackSet"
    ]["TemplateBody"]
    assert "ONE_HOUR" in body


def test_a_template_edit_that_drops_a_table_is_held_back(sandbox: Sandbox, applied: Path) -> None:
    """Dropping the webhook-events table from the platform would delete it in dev and staging
    (DeletionPolicy is Delete outside prod): destructive, held back without --allow-destroy."""
    template = applied.parent / "templates" / "themisguard-platform.yaml.j2"
    text = template.read_text()
    start = text.index('  {"id": "WebhookEvents"')
    end = text.index('  {"id": "UsageRecords"')
    template.write_text(text[:start] + text[end:])

    held = replan(applied)
    assert held.plan.changes == ()
    [change] = held.plan.held_back
    assert change.address == 'stack_set["themisguard-platform"]' and change.destructive
    assert any(
        "deletes AWS::DynamoDB::Table WebhookEventsTable" in line
        for line in KIND_OF_STACK_SET.describe(change)
    )

    aws = AwsContext()
    _, after = workflow.run_apply(held, aws, RecordingReporter(), PlanOptions())
    cfn = sandbox.client("cloudformation")
    body = cfn.describe_stack_set(StackSetName="themisguard-platform")["StackSet"]["TemplateBody"]
    assert "WebhookEventsTable" in body  # nothing was sent
    assert after.held_back and not after.changes

    allowed = replan(applied, PlanOptions(allow_destroy=True))
    assert [c.address for c in allowed.plan.changes] == ['stack_set["themisguard-platform"]']
    workflow.run_apply(allowed, aws, RecordingReporter(), PlanOptions(allow_destroy=True))
    body = cfn.describe_stack_set(StackSetName="themisguard-platform")["StackSet"]["TemplateBody"]
    assert "WebhookEventsTable" not in body


def test_environment_parameter_edit_updates_only_that_environment(
    sandbox: Sandbox, applied: Path
) -> None:
    edit_yaml(
        applied,
        lambda d: (
            platform(d)
            .setdefault("environment_parameters", {})
            .update(staging={"AlertEmail": "staging-alerts@delatsi-llc.com"})
        ),
    )
    planned = replan(applied)
    assert [c.address for c in planned.plan.changes] == [
        'stack_instance["themisguard-platform" -> "themisguard-staging@delatsi-llc.com" -> '
        '"us-east-1"]'
    ]
    converged(applied)


def test_new_target_gets_an_instance_and_removal_needs_destroy(
    sandbox: Sandbox, applied: Path
) -> None:
    edit_yaml(
        applied,
        lambda d: d["stack_sets"][1]["targets"].update(
            accounts=["log-archive@delatsi-llc.com", "audit@delatsi-llc.com"]
        ),
    )
    aws = AwsContext()
    planned = replan(applied)
    assert [(c.kind, c.action) for c in planned.plan.changes] == [("stack_instance", Action.CREATE)]
    _, after = workflow.run_apply(planned, aws, RecordingReporter(), PlanOptions())
    assert after.empty
    edit_yaml(
        applied,
        lambda d: d["stack_sets"][1]["targets"].update(accounts=["log-archive@delatsi-llc.com"]),
    )
    held = replan(applied)
    assert held.plan.empty and [c.action for c in held.plan.held_back] == [Action.DELETE]
    allowed = PlanOptions(allow_destroy=True)
    # The same snapshot, planned with the flag (planning is pure): no second read.
    planned = workflow.Planned(held.config, held.live, plan(held.config, held.live, allowed))
    _, after = workflow.run_apply(planned, aws, RecordingReporter(), allowed)
    assert after.empty
    instances = sandbox.client("cloudformation").list_stack_instances(StackSetName="log-archive")[
        "Summaries"
    ]
    assert len(instances) == 1


def break_log_archive(seed_dir: Path) -> Path:
    """Make log-archive's stack uncreatable: an output names a resource that does not exist."""
    template = seed_dir / "templates" / "log-archive.yaml.j2"
    template.write_text(
        template.read_text().replace(
            "\nOutputs:\n", "\nOutputs:\n  Broken:\n    Value: !GetAtt NoSuchResource.Arn\n", 1
        )
    )
    return seed_dir / "org.yaml"


def test_failing_instance_stops_apply_with_the_stack_set_named(
    sandbox: Sandbox, seed_dir: Path
) -> None:
    from orgkit.errors import AwsError

    config = break_log_archive(seed_dir)
    aws = AwsContext()
    planned = workflow.make_plan(config, aws, PlanOptions())
    with pytest.raises(AwsError) as caught:
        # lint=False: apply's cfn-lint would catch this template; the point here is what
        # apply does when CloudFormation itself fails an instance.
        workflow.run_apply(planned, aws, RecordingReporter(), PlanOptions(), lint=False)
    assert "log-archive" in caught.value.message
    assert "apply stopped after" in caught.value.message
    remaining = replan(config)
    assert [c.address for c in remaining.plan.changes] == [
        'stack_instance["log-archive" -> "log-archive@delatsi-llc.com" -> "us-east-1"]',
        'trail["organization-trail"]',  # its bucket and key are that instance's outputs
    ]


def test_stack_sets_live_in_the_home_region_whatever_the_callers_region(
    sandbox: Sandbox, applied: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    planned = replan(applied)
    assert planned.plan.empty, [c.address for c in planned.plan.changes]
    assert (
        sandbox.client("cloudformation", region_name="eu-west-1").list_stack_sets()["Summaries"]
        == []
    )


def test_apply_refuses_a_template_cfn_lint_rejects_before_any_write(
    sandbox: Sandbox, seed_dir: Path, aws_calls: list[str]
) -> None:
    from orgkit.errors import ConfigError
    from tests.helpers import is_write

    config = break_log_archive(seed_dir)
    aws = AwsContext()
    planned = workflow.make_plan(config, aws, PlanOptions())
    with pytest.raises(ConfigError, match="NoSuchResource"):
        workflow.run_apply(planned, aws, RecordingReporter(), PlanOptions())
    assert not [c for c in aws_calls if is_write(c.split(".", 1)[1])]
