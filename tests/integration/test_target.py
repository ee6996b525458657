"""``--target`` on the emulator: a targeted plan reads inside the targeted accounts only, keeps
their changes, applies them alone (from a saved plan too), and drift's filters read the same
way and report what the whole read reports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from orgkit import workflow
from orgkit.live import AwsContext
from orgkit.plan import PlanOptions
from orgkit.plan.drift import DriftScope, drift, scoped
from orgkit.sandbox.server import Sandbox
from orgkit.target import Target
from tests.cli.test_cli import run
from tests.helpers import account_ids, converged, edit_yaml

SMALL_ORG = Path(__file__).parent / "faults_org"  # two accounts with roles, budgets, a stack set
DEV_BUDGET = 'budget["app-dev@example.com"]'
PROD_BUDGET = 'budget["app-prod@example.com"]'


@pytest.fixture
def edited(sandbox: Sandbox, tmp_path: Path) -> Path:
    """The small organization applied, then both accounts' budgets changed in org.yaml."""
    shutil.copytree(SMALL_ORG, tmp_path / "org")
    config = tmp_path / "org" / "org.yaml"
    converged(config)

    def budgets(data: dict[str, Any]) -> None:
        data["accounts"][0]["budget"] = 130
        data["accounts"][1]["budget"] = 70

    edit_yaml(config, budgets)
    return config


def test_a_targeted_plan_reads_and_keeps_only_its_account(
    sandbox: Sandbox, edited: Path, aws_calls: list[str]
) -> None:
    whole = workflow.make_plan(edited, AwsContext(), PlanOptions())
    assert [c.address for c in whole.plan.changes] == [PROD_BUDGET, DEV_BUDGET]
    whole_calls = list(aws_calls)
    aws_calls.clear()

    dev = account_ids(sandbox)["app-dev@example.com"]
    targeted = workflow.make_plan(
        edited, AwsContext(), PlanOptions(), target=Target.parse(["account:App Dev"])
    )
    assert [c.address for c in targeted.plan.changes] == [DEV_BUDGET]
    assert targeted.plan.target == {"accounts": ["App Dev"], "ous": [], "projects": []}
    # Inside accounts, only App Dev (and the management account's StackSet role) was read.
    management = targeted.live.management_account_id
    assert {r.account_id for r in targeted.live.roles} == {dev, management}
    assert {a for b in targeted.live.budgets for a in b.linked_accounts} == {dev}
    assert whole_calls.count("sts.AssumeRole") == 2
    assert aws_calls.count("sts.AssumeRole") == 1
    # Budgets' notifications are one paged call for every budget; their subscribers are read
    # per notification of the targeted budgets only.
    subscribers = "budgets.DescribeSubscribersForNotification"
    per_budget = aws_calls.count(subscribers)
    assert per_budget > 0
    assert whole_calls.count(subscribers) == 2 * per_budget
    bulk = "budgets.DescribeBudgetNotificationsForAccount"
    assert (whole_calls.count(bulk), aws_calls.count(bulk)) == (1, 1)
    instances = {i.account_id for s in targeted.live.stack_sets for i in s.instances}
    assert instances == {dev}
    every = [i.account_id for s in whole.live.stack_sets for i in s.instances]
    describe = "cloudformation.DescribeStackInstance"
    assert (whole_calls.count(describe), aws_calls.count(describe)) == (len(every), 1)
    assert len(every) > 1


def test_a_saved_targeted_plan_applies_its_target_alone(sandbox: Sandbox, edited: Path) -> None:
    saved = edited.parent / "dev.json"
    result = run(edited, "plan", "--target", "account:app-dev@example.com", "--out", str(saved))
    assert result.exit_code == 0, result.output
    assert json.loads(saved.read_text())["target"]["accounts"] == ["app-dev@example.com"]

    refused = run(edited, "apply", "--plan", str(saved), "--yes", "--target", "ou:/Prod")
    assert refused.exit_code == 1
    assert "is not the target the saved plan was made with" in refused.output

    applied = run(edited, "apply", "--plan", str(saved), "--yes")
    assert applied.exit_code == 0, applied.output
    assert "1 change made" in applied.output
    assert "Re-checked: the target now matches org.yaml" in applied.output
    left = workflow.make_plan(edited, AwsContext(), PlanOptions())
    assert [c.address for c in left.plan.changes] == [PROD_BUDGET]

    no_change = run(edited, "plan", "--target", "account:App Dev")
    assert no_change.exit_code == 0
    assert "No changes within the target (account:App Dev)" in no_change.output


@pytest.mark.parametrize(
    "scope",
    [DriftScope(accounts=("App Dev",)), DriftScope(ous=("/Prod",))],
    ids=["account", "ou"],
)
def test_drift_filters_read_less_and_report_what_the_whole_read_reports(
    sandbox: Sandbox, edited: Path, scope: DriftScope
) -> None:
    options = PlanOptions(allow_destroy=True, allow_close_accounts=True)
    whole = workflow.make_plan(edited, AwsContext(), options)
    expected = scoped(drift(whole.plan, whole.live), scope, whole.config.spec, whole.live)
    report = workflow.audit(edited, AwsContext(), scope=scope)
    assert report.findings == expected.findings
    assert len(report.findings) == 1  # the scope's budget
