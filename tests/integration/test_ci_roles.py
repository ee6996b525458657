"""The CI roles of examples/github-actions/ci-roles.yaml allow what orgkit really calls in the
management account, measured on the emulator: plan and drift with the plan role, apply with
the apply role (once the stack has made the StackSet administration role, apply writes no role
there); and the plan role allows nothing that plan and drift were not seen to call, except the
calls listed below with the reason the emulator does not show them."""

from __future__ import annotations

import json
from pathlib import Path

from orgkit import workflow
from orgkit.live import AwsContext
from orgkit.plan import PlanOptions
from orgkit.sandbox.server import Sandbox
from tests.helpers import RecordingReporter
from tests.unit.test_ci_recipe import MANAGEMENT, actions, permissions, role

# Read calls the seed's run does not make on the emulator, and why the plan role has them.
NOT_SEEN_ON_THE_EMULATOR = {
    # drift --detect-stack-drift (the scheduled workflow): moto answers DetectStackSetDrift
    # with an internal error (docs/sandbox.md).
    "cloudformation:DetectStackSetDrift",
    "cloudformation:DescribeStackSetOperation",
    # A deployment role in the management account itself (its boundary, its OIDC provider);
    # the seed keeps none there.
    "iam:GetOpenIDConnectProvider",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    # The tags of accounts whose org.yaml entry declares tags; the seed declares none.
    "organizations:ListTagsForResource",
    # Source identity on the AssumeRole into member accounts (the emulator does not check it).
    "sts:SetSourceIdentity",
}
NO_PERMISSION_NEEDED = {"sts:GetCallerIdentity"}
BUDGETS = {"Describe": "budgets:ViewBudget", "Create": "budgets:ModifyBudget"}


def iam_action(call: str) -> str:
    """The IAM action an API call (as the aws_calls fixture records it) needs."""
    service, operation = call.split(".")
    if service == "budgets":
        for verb, action in BUDGETS.items():
            if operation.startswith(verb):
                return action
        return "budgets:ModifyBudget"
    return f"{service}:{operation}"


def needed(calls: list[str]) -> set[str]:
    return {iam_action(c) for c in calls} - NO_PERMISSION_NEEDED


def create_administration_role_as_the_stack_does(sandbox: Sandbox) -> str:
    """The template's StackSetAdministrationRole, made in the management account as
    CloudFormation would make it; its name."""
    made = role("StackSetAdministrationRole")
    iam = sandbox.client("iam")
    iam.create_role(
        RoleName=made["RoleName"],
        Description=made["Description"],
        MaxSessionDuration=made["MaxSessionDuration"],
        AssumeRolePolicyDocument=json.dumps(made["AssumeRolePolicyDocument"]),
    )
    for policy in made["Policies"]:
        iam.put_role_policy(
            RoleName=made["RoleName"],
            PolicyName=policy["PolicyName"],
            PolicyDocument=json.dumps(policy["PolicyDocument"]),
        )
    return str(made["RoleName"])


def test_the_roles_allow_what_plan_drift_and_apply_call(
    sandbox: Sandbox, seed_dir: Path, aws_calls: list[str]
) -> None:
    config = seed_dir / "org.yaml"
    admin = create_administration_role_as_the_stack_does(sandbox)
    assert sandbox.client("sts").get_caller_identity()["Account"] == MANAGEMENT
    # The stack's role is what orgkit wants: plan has nothing to change in it.
    first = workflow.make_plan(config, AwsContext(), PlanOptions())  # an empty organization
    changes = first.plan.changes
    assert [c.address for c in changes if admin in c.address] == []
    assert any(admin.replace("Administration", "Execution") in c.address for c in changes)
    workflow.apply(config, AwsContext(), PlanOptions(), RecordingReporter())
    applied = needed(aws_calls)
    aws_calls.clear()
    workflow.make_plan(config, AwsContext(), PlanOptions())  # the seed, converged
    workflow.audit(config, AwsContext())
    planned = needed(aws_calls)

    plan_role = actions(permissions("PlanRole"))
    apply_role = actions(permissions("ApplyRole"))
    assert len(planned) >= 20 and len(applied) >= 40  # it really recorded the runs
    assert planned - plan_role == set()
    assert applied - apply_role == set()
    # Nothing more than was seen, or listed with its reason.
    assert plan_role - planned - NOT_SEEN_ON_THE_EMULATOR == set()
    assert NOT_SEEN_ON_THE_EMULATOR - plan_role == set()
