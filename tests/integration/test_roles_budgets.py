"""Roles inside member accounts and budgets in the management account, on a moto server.

Checked with raw boto3 and each member account's own credentials. moto has no UpdateBudget, no
DescribeSubscribersForNotification and no DescribeBudgetNotificationsForAccount: the sandbox adds
them (orgkit/sandbox/extensions.py), so the budget read and update paths below run against that
extension, not against moto itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from orgkit import workflow
from orgkit.live import AwsContext
from orgkit.plan import Action, PlanOptions
from orgkit.sandbox.server import Sandbox
from tests.helpers import account_ids, converged, edit_yaml, replan, sides

MANAGEMENT = "123456789012"
EXECUTION = "AWSCloudFormationStackSetExecutionRole"
ADMINISTRATION = "AWSCloudFormationStackSetAdministrationRole"
DEPLOY = "ThemisGuardDeploymentRole"


@pytest.fixture
def applied(sandbox: Sandbox, seed_dir: Path) -> Path:
    config = seed_dir / "org.yaml"
    converged(config)
    return config


def test_every_account_has_its_roles_checked_with_its_own_credentials(
    sandbox: Sandbox, applied: Path
) -> None:
    ids = account_ids(sandbox)
    admin = sandbox.client("iam").get_role(RoleName=ADMINISTRATION)["Role"]
    assert admin["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "cloudformation.amazonaws.com"
    }
    with pytest.raises(ClientError, match="NoSuchEntity"):
        sandbox.client("iam").get_role(RoleName=DEPLOY)  # not in the management account

    for email, account_id in ids.items():
        if account_id == MANAGEMENT:
            continue
        iam = sandbox.member_client(account_id, "iam")
        execution = iam.get_role(RoleName=EXECUTION)["Role"]
        statement = execution["AssumeRolePolicyDocument"]["Statement"][0]
        assert statement["Principal"] == {"AWS": f"arn:aws:iam::{MANAGEMENT}:role/{ADMINISTRATION}"}
        assert {"Key": "ManagedBy", "Value": "orgkit"} in execution["Tags"]
        if email.startswith("themisguard-"):
            role = iam.get_role(RoleName=DEPLOY)["Role"]
            assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == (
                f"arn:aws:iam::{account_id}:policy/{DEPLOY}Boundary"
            )
            trust = role["AssumeRolePolicyDocument"]["Statement"]
            assert [s["Principal"] for s in trust] == [
                {
                    "Federated": f"arn:aws:iam::{account_id}:oidc-provider/"
                    "token.actions.githubusercontent.com"
                }
            ]
            environment = email.split("-")[1].split("@")[0]
            subjects = trust[0]["Condition"]["StringLike"][
                "token.actions.githubusercontent.com:sub"
            ]
            assert f"repo:delatsi-llc/themisguard:environment:{environment}" in subjects
            assert not [
                s for s in subjects if s.endswith(":environment:prod") and environment != "prod"
            ]
            providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
            assert len(providers) == 1
            permissions = iam.get_role_policy(RoleName=DEPLOY, PolicyName="orgkit-permissions")
            resources = json.dumps(permissions["PolicyDocument"])
            assert "table/themisguard-*" in resources and '"*"' in resources
        else:
            with pytest.raises(ClientError, match="NoSuchEntity"):
                iam.get_role(RoleName=DEPLOY)


def test_every_account_has_its_budget_in_the_management_account(
    sandbox: Sandbox, applied: Path
) -> None:
    ids = account_ids(sandbox)
    budgets = sandbox.client("budgets")
    found = {b["BudgetName"]: b for b in budgets.describe_budgets(AccountId=MANAGEMENT)["Budgets"]}
    expected = {
        "log-archive@delatsi-llc.com": 100,
        "themisguard-dev@delatsi-llc.com": 100,
        "themisguard-staging@delatsi-llc.com": 200,
        "themisguard-prod@delatsi-llc.com": 500,
        "sandbox-personal@delatsi-llc.com": 50,
        "shared-services-dev@delatsi-llc.com": 150,
    }
    assert len(found) == 10
    for email, amount in expected.items():
        budget = found[f"orgkit-monthly-{ids[email]}"]
        assert float(budget["BudgetLimit"]["Amount"]) == amount
        assert budget["CostFilters"] == {"LinkedAccount": [ids[email]]}
        notifications = budgets.describe_notifications_for_budget(
            AccountId=MANAGEMENT, BudgetName=budget["BudgetName"]
        )["Notifications"]
        assert sorted((n["NotificationType"], n["Threshold"]) for n in notifications) == [
            ("ACTUAL", 80),
            ("ACTUAL", 100),
            ("FORECASTED", 100),
        ]
    # Budgets live in the management account, none in the member accounts themselves.
    member = sandbox.member_client(ids["themisguard-prod@delatsi-llc.com"], "budgets")
    assert (
        member.describe_budgets(AccountId=ids["themisguard-prod@delatsi-llc.com"]).get(
            "Budgets", []
        )
        == []
    )


def test_loosened_trust_and_deleted_budget_are_planned_back(
    sandbox: Sandbox, applied: Path
) -> None:
    ids = account_ids(sandbox)
    prod = ids["themisguard-prod@delatsi-llc.com"]
    iam = sandbox.member_client(prod, "iam")
    loose = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.update_assume_role_policy(RoleName=DEPLOY, PolicyDocument=json.dumps(loose))
    iam.delete_role_policy(RoleName=EXECUTION, PolicyName="orgkit-permissions")
    sandbox.client("budgets").delete_budget(
        AccountId=MANAGEMENT, BudgetName=f"orgkit-monthly-{prod}"
    )

    planned = workflow.make_plan(applied, AwsContext(), PlanOptions())
    changes = {c.address: c for c in planned.plan.changes}
    role = changes[f'deployment_role["themisguard-prod@delatsi-llc.com" -> "{DEPLOY}"]']
    assert role.action is Action.UPDATE and role.to_dict()["before"]["differs"] == ["trust"]
    execution = changes[f'deployment_role["themisguard-prod@delatsi-llc.com" -> "{EXECUTION}"]']
    assert execution.to_dict()["before"]["differs"] == ["permissions"]
    budget = changes['budget["themisguard-prod@delatsi-llc.com"]']
    assert budget.action is Action.CREATE
    assert len(changes) == 3

    converged(applied)
    trust = iam.get_role(RoleName=DEPLOY)["Role"]["AssumeRolePolicyDocument"]
    assert "999999999999" not in json.dumps(trust)
    assert iam.get_role_policy(RoleName=EXECUTION, PolicyName="orgkit-permissions")


def test_amount_and_threshold_changes_are_updates_that_converged(
    sandbox: Sandbox, applied: Path
) -> None:
    def change(data: dict) -> None:
        data["budgets"]["amounts"]["dev"] = 90
        data["budgets"]["notifications"][0]["threshold"] = 75

    edit_yaml(applied, change)
    planned = workflow.make_plan(applied, AwsContext(), PlanOptions())
    kinds = {(c.kind, c.action) for c in planned.plan.changes}
    assert kinds == {("budget", Action.UPDATE)}
    dev = next(
        c for c in planned.plan.changes if c.address == 'budget["themisguard-dev@delatsi-llc.com"]'
    )
    assert (sides(dev)[0]["amount"], sides(dev)[1]["amount"]) == (100.0, 90.0)
    assert len(planned.plan.changes) == 10  # the threshold changed for every account

    converged(applied)
    prod = account_ids(sandbox)["themisguard-dev@delatsi-llc.com"]
    budget = sandbox.client("budgets").describe_budget(
        AccountId=MANAGEMENT, BudgetName=f"orgkit-monthly-{prod}"
    )["Budget"]
    assert float(budget["BudgetLimit"]["Amount"]) == 90


def test_changed_subscribers_are_an_update(sandbox: Sandbox, applied: Path) -> None:
    edit_yaml(applied, lambda d: d["budgets"].update(emails=["finance@delatsi-llc.com"]))
    planned = workflow.make_plan(applied, AwsContext(), PlanOptions())
    assert {c.kind for c in planned.plan.changes} == {"budget"}
    converged(applied)


def test_github_trust_can_be_replaced_by_ci_principals(sandbox: Sandbox, applied: Path) -> None:
    def principals(data: dict) -> None:
        data["projects"][0]["deployment_role"]["trust"] = {
            "principal_arns": ["arn:aws:iam::222233334444:role/ci"],
            "external_id": "themisguard-ci",
        }

    edit_yaml(applied, principals)
    planned = converged(applied)
    org_id = planned.live.organization_id
    prod = account_ids(sandbox)["themisguard-prod@delatsi-llc.com"]
    trust = sandbox.member_client(prod, "iam").get_role(RoleName=DEPLOY)["Role"][
        "AssumeRolePolicyDocument"
    ]
    assert trust["Statement"] == [
        {
            "Sid": "CiPrincipals",
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::222233334444:role/ci"]},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"sts:ExternalId": "themisguard-ci", "aws:PrincipalOrgID": org_id}
            },
        }
    ]


def test_policies_added_by_hand_to_an_orgkit_role_are_planned_away(
    sandbox: Sandbox, applied: Path
) -> None:
    prod = account_ids(sandbox)["themisguard-prod@delatsi-llc.com"]
    iam = sandbox.member_client(prod, "iam")
    wide = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName=DEPLOY, PolicyName="break-glass", PolicyDocument=json.dumps(wide))
    managed = iam.create_policy(PolicyName="Everything", PolicyDocument=json.dumps(wide))
    iam.attach_role_policy(RoleName=DEPLOY, PolicyArn=managed["Policy"]["Arn"])

    planned = replan(applied)
    [change] = planned.plan.changes
    assert change.to_dict()["before"]["differs"] == ["extra_policies"]
    assert change.to_dict()["before"]["extra_policies"] == [
        "inline:break-glass",
        f"managed:{managed['Policy']['Arn']}",
    ]
    converged(applied)
    assert iam.list_role_policies(RoleName=DEPLOY)["PolicyNames"] == ["orgkit-permissions"]
    assert iam.list_attached_role_policies(RoleName=DEPLOY)["AttachedPolicies"] == []


def test_budget_period_changed_by_hand_converges(sandbox: Sandbox, applied: Path) -> None:
    # UpdateBudget is a sandbox extension (moto lacks it): this checks what orgkit sends.
    dev = account_ids(sandbox)["themisguard-dev@delatsi-llc.com"]
    budgets = sandbox.client("budgets")
    budget = budgets.describe_budget(AccountId=MANAGEMENT, BudgetName=f"orgkit-monthly-{dev}")[
        "Budget"
    ]
    budgets.update_budget(
        AccountId=MANAGEMENT,
        NewBudget={
            "BudgetName": budget["BudgetName"],
            "BudgetLimit": budget["BudgetLimit"],
            "TimeUnit": "QUARTERLY",
            "BudgetType": "COST",
            "CostFilters": budget["CostFilters"],
        },
    )
    planned = replan(applied)
    [change] = planned.plan.changes
    assert (sides(change)[0]["time_unit"], sides(change)[1]["time_unit"]) == (
        "QUARTERLY",
        "MONTHLY",
    )
    converged(applied)
    assert (
        budgets.describe_budget(AccountId=MANAGEMENT, BudgetName=budget["BudgetName"])["Budget"][
            "TimeUnit"
        ]
        == "MONTHLY"
    )


def test_notifications_read_in_bulk_are_those_read_per_budget(
    sandbox: Sandbox, applied: Path, monkeypatch: pytest.MonkeyPatch, aws_calls: list[str]
) -> None:
    """DescribeBudgetNotificationsForAccount (in pages, here of 3 budgets) gives each budget the
    notifications DescribeNotificationsForBudget gives it, including a budget with none; the
    budgets read through it are those the per-budget read gives."""
    from orgkit.kinds import budget as budget_kind

    sandbox.client("budgets").create_budget(
        AccountId=MANAGEMENT,
        Budget={
            "BudgetName": "orgkit-monthly-999999999999",
            "BudgetLimit": {"Amount": "5.00", "Unit": "USD"},
            "TimeUnit": "MONTHLY",
            "BudgetType": "COST",
        },
    )
    monkeypatch.setattr(budget_kind, "PAGE_SIZE", 3)
    aws = AwsContext()
    bulk = budget_kind.read_budgets(aws, MANAGEMENT)
    operations = [call.split(".", 1)[1] for call in aws_calls]
    assert operations.count("DescribeBudgetNotificationsForAccount") == 4  # 11 budgets, pages of 3
    assert "DescribeNotificationsForBudget" not in operations
    assert operations.count("DescribeSubscribersForNotification") == 30  # 10 budgets x 3 alerts

    client = aws.client("budgets")
    names = [b.name for b in bulk]
    assert len(names) == 11
    per_budget = budget_kind.notifications_per_budget(client, MANAGEMENT, names)
    assert budget_kind.notifications_in_bulk(client, MANAGEMENT, names) == per_budget
    assert per_budget["orgkit-monthly-999999999999"] == []

    def denied(*_: object) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}},
            "DescribeBudgetNotificationsForAccount",
        )

    monkeypatch.setattr(budget_kind, "notifications_in_bulk", denied)
    del aws_calls[:]
    assert budget_kind.read_budgets(aws, MANAGEMENT) == bulk  # read per budget instead
    assert [c.split(".", 1)[1] for c in aws_calls].count("DescribeNotificationsForBudget") == 11
    alerts = {b.name: [(n.type, n.threshold, n.subscribers) for n in b.notifications] for b in bulk}
    assert alerts.pop("orgkit-monthly-999999999999") == []
    billing = (("EMAIL", "billing@delatsi-llc.com"),)
    assert set(map(tuple, alerts.values())) == {
        (("ACTUAL", 80.0, billing), ("ACTUAL", 100.0, billing), ("FORECASTED", 100.0, billing))
    }
