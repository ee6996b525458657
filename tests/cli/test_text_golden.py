"""Golden files for what people read: the text plan and the text drift report.

A slip in a view (a line printing ``None -> None``, a diff that lost its lines) shows as a
diff of these files. Rerun with ORGKIT_UPDATE_GOLDEN=1 when a change is intended, and read
the diff before committing it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from orgkit.sandbox.server import Sandbox
from tests.cli.test_cli import GOLDEN, run
from tests.helpers import account_ids

MANAGEMENT = "123456789012"
PROD = "themisguard-prod@delatsi-llc.com"
DEPLOY = "ThemisGuardDeploymentRole"


def check_golden_text(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ORGKIT_UPDATE_GOLDEN"):
        path.write_text(text)
    expected = path.read_text()
    assert text == expected, (
        f"{name} differs; if intended, rerun with ORGKIT_UPDATE_GOLDEN=1 and review the diff"
    )


def stable_ids(box: Sandbox, text: str) -> str:
    """Account ids depend on the order parallel creations reach the emulator: name them by
    email instead; OU ids likewise by a placeholder."""
    for email, account_id in account_ids(box).items():
        if account_id != MANAGEMENT:
            text = text.replace(account_id, f"<{email.split('@')[0]}>")
    return re.sub(r"\bou-[a-z0-9]+-[a-z0-9]+\b", "ou-<id>", text)


def test_text_plan_of_the_seed_org(sandbox: Sandbox, seed_dir: Path) -> None:
    result = run(seed_dir / "org.yaml", "plan")
    assert result.exit_code == 0, result.output
    check_golden_text("plan_seed.txt", result.stdout)


def hand_changes(box: Sandbox, seed_dir: Path) -> None:
    """What an admin might do in the console: move an account, edit an SCP, loosen and add
    to a role, change a budget and a stack set's roles, leave an OU behind."""
    org = box.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    ous = {
        o["Name"]: o["Id"]
        for o in org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
    }
    ids = account_ids(box)
    org.move_account(
        AccountId=ids[PROD], SourceParentId=ous["Production"], DestinationParentId=ous["Sandbox"]
    )
    org.create_organizational_unit(ParentId=root, Name="Shadow")
    policy = next(
        p
        for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
        if p["Name"] == "deny-leave-organization"
    )
    document = json.loads(org.describe_policy(PolicyId=policy["Id"])["Policy"]["Content"])
    document["Statement"][0]["Action"] = [
        "organizations:LeaveOrganization",
        "organizations:DeleteOrganization",
    ]
    org.update_policy(PolicyId=policy["Id"], Content=json.dumps(document))

    iam = box.member_client(ids[PROD], "iam")
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
    iam.put_role_policy(
        RoleName=DEPLOY,
        PolicyName="break-glass",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )

    budgets = box.client("budgets")
    name = f"orgkit-monthly-{ids['themisguard-dev@delatsi-llc.com']}"
    budget = budgets.describe_budget(AccountId=MANAGEMENT, BudgetName=name)["Budget"]
    budgets.update_budget(
        AccountId=MANAGEMENT,
        NewBudget={
            **{k: budget[k] for k in ("BudgetName", "TimeUnit", "BudgetType", "CostFilters")},
            "BudgetLimit": {"Amount": "250.00", "Unit": "USD"},
        },
    )

    cfn = box.client("cloudformation")
    live = cfn.describe_stack_set(StackSetName="log-archive")["StackSet"]
    cfn.update_stack_set(
        StackSetName="log-archive",
        TemplateBody=live["TemplateBody"],
        Parameters=live.get("Parameters", []),
        Capabilities=live.get("Capabilities", []),
        AdministrationRoleARN=f"arn:aws:iam::{MANAGEMENT}:role/SomeoneElsesAdminRole",
        ExecutionRoleName=live["ExecutionRoleName"],
    )


def test_text_plan_and_drift_after_hand_changes(sandbox: Sandbox, seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"
    applied = run(config, "apply", "--yes")
    assert applied.exit_code == 0, applied.output
    hand_changes(sandbox, seed_dir)

    planned = run(config, "plan")
    assert planned.exit_code == 0, planned.output
    assert "None -> None" not in planned.stdout
    check_golden_text("plan_drifted.txt", stable_ids(sandbox, planned.stdout))

    drifted = run(config, "drift")
    assert drifted.exit_code == 2, drifted.output
    check_golden_text("drift_drifted.txt", stable_ids(sandbox, drifted.stdout))
