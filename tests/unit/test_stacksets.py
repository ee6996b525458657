"""Stack sets: target resolution, parameters, planning against a hand-built live org, and the
applier's batching and operation polling against a scripted CloudFormation client."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from orgkit.config.loader import Config, load_config
from orgkit.config.stacksets import resolve_targets
from orgkit.errors import ConfigError
from orgkit.kinds.base import Poll
from orgkit.kinds.stack_instance import KIND as KIND_OF_INSTANCE
from orgkit.kinds.stack_set import StackSetApplier
from orgkit.live.model import LiveAccount, LiveOrg, LiveStackInstance, LiveStackSet
from orgkit.plan import PlanOptions, plan

MGMT, ORG = "111111111111", "o-test"
DEV, PROD, SEC = "222222222222", "333333333333", "444444444444"
TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Environment:
    Type: String
  Size:
    Type: Number
    Default: 1
  AlarmEmail:
    Type: String
    Default: ""
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "{{ project }}-${Environment}-t"
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
"""
ORG_YAML = """\
version: 1
organization: {name: T, management_account_id: "111111111111"}
projects: [{name: app}]
stackset_roles: {}
ous:
  - name: Prod
    children: [{name: Apps}]
  - name: NonProd
  - name: Security
accounts:
  - {name: Dev, email: dev@x.com, ou: /NonProd, environment: dev, project: app}
  - {name: Prod, email: prod@x.com, ou: /Prod/Apps, environment: prod, project: app}
  - {name: Sec, email: sec@x.com, ou: /Security, environment: security}
stack_sets:
  - name: platform
    template: templates/t.yaml.j2
    project: app
    parameters: {Size: 2}
    environment_parameters:
      prod: {AlarmEmail: oncall@x.com}
    targets: {projects: [app]}
    regions: [us-east-1]
"""


def make_config(tmp_path: Path, text: str = ORG_YAML, template: str = TEMPLATE) -> Config:
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "t.yaml.j2").write_text(template)
    (tmp_path / "org.yaml").write_text(textwrap.dedent(text))
    return load_config(tmp_path / "org.yaml")


def live_org(stack_sets: tuple[LiveStackSet, ...] = ()) -> LiveOrg:
    return LiveOrg(
        organization_id=ORG,
        management_account_id=MGMT,
        feature_set="ALL",
        root_id="r-1",
        policy_types=(),
        ous=(),
        accounts=(
            LiveAccount(DEV, "Dev", "dev@x.com", "ACTIVE", "r-1"),
            LiveAccount(PROD, "Prod", "prod@x.com", "ACTIVE", "r-1"),
            LiveAccount(SEC, "Sec", "sec@x.com", "ACTIVE", "r-1"),
        ),
        policies=(),
        stack_sets=stack_sets,
    )


def stack_changes(result: Any) -> list[str]:
    return [
        f"{c.action.symbol} {c.address}"
        for c in result.changes
        if c.kind in ("stack_set", "stack_instance")
    ]


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        ({"projects": ["app"]}, ["dev@x.com", "prod@x.com"]),
        ({"ous": ["/Prod"]}, ["prod@x.com"]),  # nested OUs count
        ({"ous": ["/"]}, ["dev@x.com", "prod@x.com", "sec@x.com"]),
        ({"projects": ["app"], "environments": ["prod"]}, ["prod@x.com"]),
        ({"environments": ["security"], "accounts": ["dev@x.com"]}, ["dev@x.com", "sec@x.com"]),
        ({"accounts": ["sec@x.com"]}, ["sec@x.com"]),
    ],
    ids=["project", "nested-ou", "root", "filters-intersect", "accounts-add", "accounts-only"],
)
def test_targets_resolve(tmp_path: Path, targets: dict, expected: list[str]) -> None:
    config = make_config(tmp_path)
    stack_set = config.spec.stack_sets[0].model_copy(
        update={"targets": config.spec.stack_sets[0].targets.model_validate(targets)}
    )
    assert sorted(a.email for a in resolve_targets(config.spec, stack_set)) == expected


def test_new_stack_set_creates_set_then_instances_with_environment_overrides(
    tmp_path: Path,
) -> None:
    result = plan(make_config(tmp_path), live_org())
    assert stack_changes(result) == [
        '+ stack_set["platform"]',
        '+ stack_instance["platform" -> "dev@x.com" -> "us-east-1"]',
        '+ stack_instance["platform" -> "prod@x.com" -> "us-east-1"]',
    ]
    by_address = {c.address: c for c in result.changes}
    stack_set = by_address['stack_set["platform"]'].to_dict()["after"]
    # Overridable parameters must be set on the stack set; defaults fill env-only ones.
    assert stack_set["parameters"] == {"Size": "2", "AlarmEmail": "", "Environment": "dev"}
    assert "app-${Environment}-t" in stack_set["template_body"]
    assert stack_set["administration_role_arn"] == (
        f"arn:aws:iam::{MGMT}:role/AWSCloudFormationStackSetAdministrationRole"
    )
    prod = by_address['stack_instance["platform" -> "prod@x.com" -> "us-east-1"]'].to_dict()[
        "after"
    ]
    assert prod["overrides"] == {"Environment": "prod", "AlarmEmail": "oncall@x.com"}


def in_sync(config: Config, **changes: Any) -> LiveStackSet:
    desired = {c.address: c.to_dict()["after"] for c in plan(config, live_org()).changes}
    after = desired['stack_set["platform"]']
    values = {
        "name": "platform",
        "status": "ACTIVE",
        "description": "",
        "template_body": after["template_body"],
        "parameters": tuple(sorted(after["parameters"].items())),
        "capabilities": ("CAPABILITY_NAMED_IAM",),
        "administration_role_arn": after["administration_role_arn"],
        "execution_role_name": after["execution_role_name"],
        "instances": (
            LiveStackInstance(DEV, "us-east-1", "CURRENT", overrides=(("Environment", "dev"),)),
            LiveStackInstance(
                PROD,
                "us-east-1",
                "CURRENT",
                overrides=(("AlarmEmail", "oncall@x.com"), ("Environment", "prod")),
            ),
        ),
    }
    values.update(changes)
    return LiveStackSet(**values)


def test_in_sync_stack_set_plans_nothing(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert stack_changes(plan(config, live_org((in_sync(config),)))) == []


def test_template_change_is_a_stack_set_update_with_a_diff_and_nothing_else(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path)
    live = live_org((in_sync(config),))
    edited = make_config(tmp_path, template=TEMPLATE.replace("PAY_PER_REQUEST", "PROVISIONED"))
    result = plan(edited, live)
    assert stack_changes(result) == ['~ stack_set["platform"]']
    change = result.changes[-1]
    assert change.to_dict()["before"]["differs"] == ["template"]
    assert not change.destructive


def test_template_change_that_replaces_a_table_is_held_back(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    live = live_org((in_sync(config),))
    renamed = make_config(tmp_path, template=TEMPLATE.replace('-t"', '-table"'))
    held = plan(renamed, live)
    assert stack_changes(held) == []
    [change] = [c for c in held.held_back if c.kind == "stack_set"]
    assert change.destructive
    assert plan(renamed, live, PlanOptions(allow_destroy=True)).changes[-1] == change


def test_parameter_change_is_a_stack_set_update_and_nothing_else(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    live = live_org((in_sync(config),))
    result = plan(make_config(tmp_path, ORG_YAML.replace("{Size: 2}", "{Size: 3}")), live)
    assert stack_changes(result) == ['~ stack_set["platform"]']
    assert result.changes[-1].to_dict()["before"]["differs"] == ["parameters"]


def test_environment_override_change_updates_only_that_instance(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    live = live_org((in_sync(config),))
    edited = make_config(tmp_path, ORG_YAML.replace("oncall@x.com", "pager@x.com"))
    assert stack_changes(plan(edited, live)) == [
        '~ stack_instance["platform" -> "prod@x.com" -> "us-east-1"]'
    ]


def test_an_account_changing_environment_is_a_held_back_instance_update(tmp_path: Path) -> None:
    """Its Environment override renames every platform table and bucket: CloudFormation would
    replace them, so the update is destructive."""
    config = make_config(tmp_path)
    live = live_org((in_sync(config),))
    moved = make_config(tmp_path, ORG_YAML.replace("environment: dev", "environment: staging", 1))
    result = plan(moved, live)
    [held] = [c for c in result.held_back if c.kind == "stack_instance"]
    assert held.action.value == "update" and held.destructive
    assert "data loss: Environment dev -> staging" in KIND_OF_INSTANCE.describe(held)[0]


def test_instance_of_an_untargeted_account_is_held_back_unless_destroy_is_allowed(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path)
    extra = LiveStackInstance(SEC, "us-east-1", "CURRENT")
    live_set = in_sync(config)
    live = live_org((in_sync(config, instances=(*live_set.instances, extra)),))
    held = plan(config, live)
    assert stack_changes(held) == []
    assert [c.address for c in held.held_back] == [
        'stack_instance["platform" -> "sec@x.com" -> "us-east-1"]'
    ]
    allowed = plan(config, live, PlanOptions(allow_destroy=True))
    assert stack_changes(allowed) == ['- stack_instance["platform" -> "sec@x.com" -> "us-east-1"]']


def test_absent_stack_set_deletes_instances_before_the_set(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    live = live_org((in_sync(config),))
    gone = make_config(tmp_path, ORG_YAML + "    state: absent\n")
    result = plan(gone, live, PlanOptions(allow_destroy=True))
    assert stack_changes(result)[-1] == '- stack_set["platform"]'
    assert len(stack_changes(result)) == 3


def test_outdated_instance_is_a_warning(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    live_set = in_sync(config)
    broken = LiveStackInstance(
        DEV,
        "us-east-1",
        "OUTDATED",
        "ResourceLogicalId:Table failed",
        overrides=(("Environment", "dev"),),
    )
    result = plan(config, live_org((in_sync(config, instances=(broken, live_set.instances[1])),)))
    assert stack_changes(result) == []
    assert any("OUTDATED" in w and "Table failed" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("{Size: 2}", "{Sise: 2}"), "the template has no parameter 'Sise'"),
        (
            lambda t: t.replace("targets: {projects: [app]}", "targets: {ous: [/Prd]}"),
            "unknown OU '/Prd'",
        ),
        (lambda t: t.replace("stackset_roles: {}\n", ""), "declare stackset_roles"),
        (
            lambda t: t.replace("templates/t.yaml.j2", "templates/none.yaml.j2"),
            "templates/none.yaml.j2 not found",
        ),
    ],
    ids=["unknown-parameter", "unknown-ou", "no-roles", "missing-template"],
)
def test_bad_stack_sets_name_org_yaml_lines(tmp_path: Path, edit: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_config(tmp_path, edit(ORG_YAML))
    assert any(
        message in str(issue) and str(issue).startswith(str(tmp_path / "org.yaml") + ":")
        for issue in caught.value.issues
    ), caught.value.message


def test_template_render_error_names_the_template_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        make_config(tmp_path, template=TEMPLATE.replace("{{ project }}", "{{ projcet }}"))
    issue = caught.value.issues[0]
    assert (issue.file, issue.line) == ("templates/t.yaml.j2", 15)
    assert "projcet" in issue.message


def test_missing_required_parameter_is_an_error(tmp_path: Path) -> None:
    template = TEMPLATE.replace(
        '  AlarmEmail:\n    Type: String\n    Default: ""\n', "  Owner:\n    Type: String\n"
    )
    text = ORG_YAML.replace("      prod: {AlarmEmail: oncall@x.com}\n", "      prod: {}\n")
    with pytest.raises(ConfigError, match="parameter 'Owner' has no default"):
        make_config(tmp_path, text, template)


# -- applier ------------------------------------------------------------------------------


class FakeCloudFormation:
    """Scripted operation statuses; records every call."""

    def __init__(self, statuses: list[str], busy: int = 0) -> None:
        self.statuses = statuses
        self.busy = busy
        self.calls: list[tuple[str, dict]] = []

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            if name in (
                "create_stack_instances",
                "update_stack_instances",
                "update_stack_set",
                "delete_stack_instances",
            ):
                if self.busy:
                    self.busy -= 1
                    raise ClientError(
                        {"Error": {"Code": "OperationInProgressException", "Message": "busy"}}, name
                    )
                return {"OperationId": kwargs["OperationId"]}
            if name == "describe_stack_set_operation":
                return {"StackSetOperation": {"Status": self.statuses.pop(0)}}
            return {}

        return call

    def get_paginator(self, name: str) -> Any:
        fake = self

        class Pages:
            def paginate(self, **kwargs: Any) -> list[dict]:
                fake.calls.append((name, kwargs))
                return [
                    {
                        "Summaries": [
                            {
                                "Account": PROD,
                                "Region": "us-east-1",
                                "Status": "FAILED",
                                "StatusReason": "Table: AccessDenied",
                            },
                            {"Account": DEV, "Region": "us-east-1", "Status": "SUCCEEDED"},
                        ]
                    }
                ]

        return Pages()


def instance_changes(tmp_path: Path) -> list:
    return [
        c for c in plan(make_config(tmp_path), live_org()).changes if c.kind == "stack_instance"
    ]


def test_instances_are_batched_per_overrides_and_waited_for(tmp_path: Path) -> None:
    cfn = FakeCloudFormation(["RUNNING", "SUCCEEDED", "QUEUED", "RUNNING", "SUCCEEDED"])
    sleeps: list[float] = []
    applier = StackSetApplier(
        cfn,
        lambda after: after.account_id,
        lambda c, m: None,
        sleep=sleeps.append,
        poll=Poll(1, 4, 100),
    )
    done, errors = applier.run(instance_changes(tmp_path))
    assert errors == [] and len(done) == 2
    creates = [kw for name, kw in cfn.calls if name == "create_stack_instances"]
    assert sorted(c["Accounts"][0] for c in creates) == [DEV, PROD]  # one per environment
    assert all(c["StackSetName"] == "platform" for c in creates)
    assert sleeps == [1, 1, 2]


def test_failed_operation_reports_each_account_and_reason(tmp_path: Path) -> None:
    cfn = FakeCloudFormation(["FAILED"])
    applier = StackSetApplier(
        cfn, lambda after: after.account_id, lambda c, m: None, sleep=lambda s: None
    )
    done, errors = applier.run(instance_changes(tmp_path))
    assert done == []
    assert len(errors) == 1
    assert f"{PROD} us-east-1: FAILED: Table: AccessDenied" in errors[0].message
    assert DEV not in errors[0].message.split("FAILED", 1)[1]


def test_operation_in_progress_is_waited_out(tmp_path: Path) -> None:
    cfn = FakeCloudFormation(["SUCCEEDED", "SUCCEEDED"], busy=2)
    messages: list[str] = []
    applier = StackSetApplier(
        cfn, lambda after: after.account_id, lambda c, m: messages.append(m), sleep=lambda s: None
    )
    done, errors = applier.run(instance_changes(tmp_path))
    assert not errors and len(done) == 2
    assert messages.count("another operation of this stack set is running; waiting") == 2


def test_drift_reports_failed_instances_and_changes_with_their_account(tmp_path: Path) -> None:
    from orgkit.plan.drift import drift

    config = make_config(tmp_path)
    live_set = in_sync(config)
    broken = LiveStackInstance(
        DEV, "us-east-1", "INOPERABLE", "stack deleted by hand", overrides=(("Environment", "dev"),)
    )
    live = live_org((in_sync(config, instances=(broken, live_set.instances[1])),))
    edited = make_config(tmp_path, ORG_YAML.replace("oncall@x.com", "pager@x.com"))
    report = drift(plan(edited, live, PlanOptions(allow_destroy=True)), live)
    assert not report.in_sync
    issues = {
        (f.address, f.issue, f.account_id) for f in report.findings if f.kind == "stack_instance"
    }  # the hand-built live org has no OUs either
    assert issues == {
        ('stack_instance["platform" -> "prod@x.com" -> "us-east-1"]', "changed", PROD),
        ('stack_instance["platform" -> "dev@x.com" -> "us-east-1"]', "failed", DEV),
    }
    failed = next(f for f in report.findings if f.issue == "failed")
    assert failed.actual["reason"] == "stack deleted by hand"


def test_account_creations_come_before_updates_whatever_the_file_order(tmp_path: Path) -> None:
    text = ORG_YAML.replace(
        "  - {name: Prod, email: prod@x.com, ou: /Prod/Apps, environment: prod, project: app}",
        "  - {name: Prod, email: prod@x.com, ou: /Prod/Apps, environment: prod, project: app,"
        " access_role: CustomAccess}",
    )
    config = make_config(tmp_path, text)
    live = live_org()
    live = replace(live, accounts=(live.accounts[0], live.accounts[2]))
    accounts = [c for c in plan(config, live).changes if c.kind == "account"]
    assert [(c.action.value, c.address) for c in accounts] == [
        ("create", 'account["prod@x.com"]'),
        ("update", 'account["dev@x.com"]'),
        ("update", 'account["sec@x.com"]'),
    ]
    # The account's own access role is the one CreateAccount makes (and orgkit assumes).
    assert accounts[0].to_dict()["after"]["access_role"] == "CustomAccess"


def test_the_management_account_is_never_closed(tmp_path: Path) -> None:
    text = ORG_YAML.replace("environment: security}", "environment: security, state: closed}")
    config = make_config(tmp_path, text)
    live = live_org()
    live = replace(live, management_account_id=SEC)
    result = plan(config, live, PlanOptions(allow_close_accounts=True))
    assert not [
        c
        for c in (*result.changes, *result.held_back)
        if c.kind == "account" and c.action.value == "delete"
    ]
    assert any("sec@x.com is the management account" in w for w in result.warnings)


def test_drifted_instances_are_changed_findings(tmp_path: Path) -> None:
    from orgkit.plan.drift import drift

    config = make_config(tmp_path)
    live_set = in_sync(config)
    drifted = replace(live_set.instances[1], drift_status="DRIFTED")
    live = live_org((in_sync(config, instances=(live_set.instances[0], drifted)),))
    report = drift(plan(config, live), live)
    found = [f for f in report.findings if f.kind == "stack_instance"]
    assert [(f.issue, f.account_id, f.actual) for f in found] == [
        ("changed", PROD, {"drift_status": "DRIFTED"})
    ]


class FakeDriftCloudFormation:
    """DetectStackSetDrift with scripted operation statuses (moto does not implement it)."""

    def __init__(self, statuses: list[str], missing: frozenset[str] = frozenset()) -> None:
        self.statuses = statuses
        self.missing = missing
        self.started: list[str] = []

    def detect_stack_set_drift(self, StackSetName: str) -> dict:
        if StackSetName in self.missing:
            raise ClientError(
                {"Error": {"Code": "StackSetNotFoundException", "Message": ""}},
                "DetectStackSetDrift",
            )
        self.started.append(StackSetName)
        return {"OperationId": f"op-{StackSetName}"}

    def describe_stack_set_operation(self, StackSetName: str, OperationId: str) -> dict:
        return {"StackSetOperation": {"Status": self.statuses.pop(0)}}


class FakeAws:
    def __init__(self, cfn: Any) -> None:
        self.cfn = cfn
        self.regions: list[str | None] = []

    def client(self, service: str, region: str | None = None) -> Any:
        self.regions.append(region)
        return self.cfn


def test_detect_drift_waits_for_each_stack_set_and_skips_missing_ones() -> None:
    from orgkit.kinds.stack_set import detect_drift

    cfn = FakeDriftCloudFormation(
        ["RUNNING", "SUCCEEDED", "SUCCEEDED"], missing=frozenset({"gone"})
    )
    aws = FakeAws(cfn)
    messages: list[str] = []
    ticks = iter([0.0])  # the wait starts at 0 s; every later look at the clock says 42 s
    detect_drift(
        aws,  # type: ignore[arg-type]
        ["a", "gone", "b"],
        "eu-central-1",
        progress=messages.append,
        sleep=lambda s: None,
        clock=lambda: next(ticks, 42.0),
    )
    assert cfn.started == ["a", "b"]
    assert messages == ["a: drift detection running, still waiting (42 s)"]
    assert aws.regions == ["eu-central-1"]


def test_detect_drift_failure_is_an_error() -> None:
    from orgkit.errors import AwsError
    from orgkit.kinds.stack_set import detect_drift

    with pytest.raises(AwsError, match="drift detection of stack set a FAILED"):
        detect_drift(
            FakeAws(FakeDriftCloudFormation(["FAILED"])),  # type: ignore[arg-type]
            ["a"],
            "us-east-1",
            sleep=lambda s: None,
        )


def test_a_stack_set_without_description_is_created_without_one(tmp_path: Path) -> None:
    [create] = [c for c in plan(make_config(tmp_path), live_org()).changes if c.kind == "stack_set"]
    cfn = FakeCloudFormation([])
    done, errors = StackSetApplier(cfn, lambda after: after.account_id, lambda c, m: None).run(
        [create]
    )
    assert not errors and len(done) == 1
    [(name, kwargs)] = cfn.calls
    assert name == "create_stack_set" and "Description" not in kwargs
    assert kwargs["PermissionModel"] == "SELF_MANAGED"


def test_a_template_is_linted_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """validate then apply (and the sandbox, and the tests) lint the same body: cfn-lint runs
    once for it; an edited body is linted afresh."""
    import cfnlint.api

    from orgkit.render.templates import RenderedTemplate, lint

    calls: list[str] = []
    real = cfnlint.api.lint

    def counting(body: str, **kwargs: Any) -> Any:
        calls.append(body)
        return real(body, **kwargs)

    monkeypatch.setattr(cfnlint.api, "lint", counting)
    body = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
    template = RenderedTemplate("once", "templates/once.yaml.j2", body + "# a\n")
    assert lint(template, ["us-east-1"]) == lint(template, ["us-east-1"]) == []
    edited = RenderedTemplate("once", "templates/once.yaml.j2", body + "# b\n")
    lint(edited, ["us-east-1"])
    assert calls == [template.body, edited.body]
