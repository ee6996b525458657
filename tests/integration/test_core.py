"""Seed organization applied on a moto server over HTTP, checked with raw boto3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orgkit import workflow
from orgkit.errors import SafetyError, WrongOrganizationError
from orgkit.live import AwsContext
from orgkit.plan import Action, PlanOptions, plan
from orgkit.sandbox.server import Sandbox
from tests.helpers import RecordingReporter, edit_yaml, is_write, replan, sides, structure_only
from tests.helpers import converge as apply

POLICY_TYPES = (
    "SERVICE_CONTROL_POLICY",
    "RESOURCE_CONTROL_POLICY",
    "TAG_POLICY",
    "BACKUP_POLICY",
    "AISERVICES_OPT_OUT_POLICY",
)


def live_tree(box: Sandbox) -> dict[str, Any]:
    """The organization as raw boto3 sees it: OU paths, accounts by email, policies of every
    type (one ListPolicies per type) with their content and targets."""
    org = box.client("organizations")
    root = org.list_roots()["Roots"][0]
    paths = {root["Id"]: "/"}
    queue = [root["Id"]]
    while queue:
        parent = queue.pop()
        for ou in org.list_organizational_units_for_parent(ParentId=parent)["OrganizationalUnits"]:
            paths[ou["Id"]] = paths[parent].rstrip("/") + "/" + ou["Name"]
            queue.append(ou["Id"])
    accounts = {}
    for parent, path in paths.items():
        for page in org.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
            for account in page["Accounts"]:
                accounts[account["Email"]] = (account["Name"], path, account["Id"])
    names = {v[2]: k for k, v in accounts.items()}
    policies = {}
    types = {}
    for policy_type in POLICY_TYPES:
        for policy in org.list_policies(Filter=policy_type)["Policies"]:
            if policy["AwsManaged"]:
                continue
            content = json.loads(org.describe_policy(PolicyId=policy["Id"])["Policy"]["Content"])
            targets = {
                paths.get(t["TargetId"]) or names[t["TargetId"]]
                for t in org.list_targets_for_policy(PolicyId=policy["Id"])["Targets"]
            }
            policies[policy["Name"]] = (policy["Id"], content, targets)
            types[policy["Name"]] = policy_type
    return {
        "root": root,
        "paths": paths,
        "accounts": accounts,
        "policies": policies,
        "types": types,
    }


def test_seed_org_applies_and_converges(sandbox: Sandbox, seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"
    after = apply(config)
    assert after.plan.empty, after.plan.to_dict()

    tree = live_tree(sandbox)
    assert {t["Type"] for t in tree["root"]["PolicyTypes"]} == set(POLICY_TYPES)
    assert {t["Status"] for t in tree["root"]["PolicyTypes"]} == {"ENABLED"}
    assert set(tree["paths"].values()) == {
        "/",
        "/Security",
        "/Production",
        "/Non-Production",
        "/Sandbox",
    }
    spec = after.config.spec
    for account in spec.accounts:
        name, path, _ = tree["accounts"][account.email]
        assert (name, path) == (account.name, account.ou)
    assert set(tree["policies"]) == {p.name for p in spec.policies}
    organization_id = sandbox.client("organizations").describe_organization()["Organization"]["Id"]
    for name, document in after.config.policies.items():
        # What AWS holds is the file's document with the organization's id filled in.
        live_document = json.dumps(tree["policies"][name][1])
        assert "${OrganizationId}" not in live_document
        assert json.loads(live_document.replace(organization_id, "${OrganizationId}")) == (
            document.document
        )
    assert organization_id in json.dumps(tree["policies"]["data-perimeter"][1])
    expected_targets = {
        "deny-leave-organization": {"/"},
        "deny-root-user": {"/"},
        "protect-security-services": {"/"},
        "protect-platform-data": {"/"},
        "restrict-regions": {"/"},
        "sandbox-cost-guard": {"/Sandbox"},
        "protect-log-archive": {"log-archive@delatsi-llc.com"},
        "data-perimeter": {"/"},
        "tagging": {"/"},
        "ai-opt-out": {"/"},
        "prod-backups": {"/Production"},
    }
    assert {n: p[2] for n, p in tree["policies"].items()} == expected_targets
    assert {n: t for n, t in tree["types"].items() if t != "SERVICE_CONTROL_POLICY"} == {
        "data-perimeter": "RESOURCE_CONTROL_POLICY",
        "tagging": "TAG_POLICY",
        "prod-backups": "BACKUP_POLICY",
        "ai-opt-out": "AISERVICES_OPT_OUT_POLICY",
    }


def test_second_apply_makes_no_write_call(
    sandbox: Sandbox, seed_dir: Path, aws_calls: list[str]
) -> None:
    config = seed_dir / "org.yaml"
    apply(config)
    aws_calls.clear()
    planned = replan(config)
    assert planned.plan.empty
    _, after = workflow.run_apply(planned, AwsContext(), RecordingReporter(), PlanOptions())
    assert after.empty
    assert [c for c in aws_calls if is_write(c.split(".", 1)[1])] == []


def test_out_of_band_changes_are_planned_back(sandbox: Sandbox, seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"
    edit_yaml(config, structure_only)  # hand changes to the structure: a move, an SCP
    apply(config)
    org = sandbox.client("organizations")
    tree = live_tree(sandbox)
    # Move ThemisGuard Production to the Sandbox OU, edit an SCP, detach another.
    _, _, prod_id = tree["accounts"]["themisguard-prod@delatsi-llc.com"]
    ou_ids = {path: i for i, path in tree["paths"].items()}
    org.move_account(
        AccountId=prod_id,
        SourceParentId=ou_ids["/Production"],
        DestinationParentId=ou_ids["/Sandbox"],
    )
    policy_id, content, _ = tree["policies"]["deny-root-user"]
    content["Statement"][0]["Action"] = "s3:*"
    org.update_policy(PolicyId=policy_id, Content=json.dumps(content))
    cost_id = tree["policies"]["sandbox-cost-guard"][0]
    org.detach_policy(PolicyId=cost_id, TargetId=ou_ids["/Sandbox"])

    planned = replan(config)
    changes = {(c.kind, c.action, c.address) for c in planned.plan.changes}
    assert changes == {
        ("account", Action.UPDATE, 'account["themisguard-prod@delatsi-llc.com"]'),
        ("policy", Action.UPDATE, 'policy["deny-root-user"]'),
        (
            "policy_attachment",
            Action.CREATE,
            'policy_attachment["sandbox-cost-guard" -> "/Sandbox"]',
        ),
    }
    move = next(c for c in planned.plan.changes if c.kind == "account")
    assert (sides(move)[0]["ou"], sides(move)[1]["ou"]) == ("/Sandbox", "/Production")

    _, after = workflow.run_apply(planned, AwsContext(), RecordingReporter(), PlanOptions())
    assert after.empty
    restored = live_tree(sandbox)
    assert restored["accounts"]["themisguard-prod@delatsi-llc.com"][1] == "/Production"
    assert restored["policies"]["sandbox-cost-guard"][2] == {"/Sandbox"}
    assert restored["policies"]["deny-root-user"][1]["Statement"][0]["Action"] == "*"


def test_wrong_management_account_is_refused_before_any_write(
    sandbox: Sandbox, seed_dir: Path, aws_calls: list[str]
) -> None:
    config = seed_dir / "org.yaml"
    edit_yaml(config, lambda d: d["organization"].update(management_account_id="999999999999"))
    with pytest.raises(WrongOrganizationError, match="999999999999"):
        replan(config)
    assert aws_calls == ["sts.GetCallerIdentity"]
    assert live_tree(sandbox)["paths"] == {live_tree(sandbox)["root"]["Id"]: "/"}


def test_saved_plan_is_refused_when_the_org_changed(sandbox: Sandbox, seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"
    plan_file = seed_dir / "plan.json"
    plan_file.write_text(json.dumps(replan(config).plan.to_dict()))
    saved = workflow.load_saved_plan(plan_file)
    sandbox.client("organizations").create_organizational_unit(
        ParentId=live_tree(sandbox)["root"]["Id"], Name="Rogue"
    )
    planned = replan(config)
    with pytest.raises(SafetyError, match="changed since this plan was made"):
        workflow.check_saved_plan(saved, planned, PlanOptions())
    assert "/Security" not in live_tree(sandbox)["paths"].values()
    assert any(u.address == 'ou["/Rogue"]' for u in planned.plan.unmanaged)


def test_saved_plan_applies_when_unchanged(sandbox: Sandbox, seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"
    saved = seed_dir / "plan.json"
    saved.write_text(json.dumps(replan(config).plan.to_dict()))
    applied, _, after = workflow.apply(
        config, AwsContext(), PlanOptions(), RecordingReporter(), saved_path=saved
    )
    assert applied.changes and after is not None and after.empty


def test_destructive_changes_need_their_flags(sandbox: Sandbox, seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"

    def lighter(data: dict) -> None:
        # What the flags hold back (a policy, its attachment, an account and its stack instance)
        # without the roles, budgets and other stack sets a whole seed apply waits for.
        data.pop("budgets")
        data.pop("security")  # its trail needs the log-archive stack set
        data["stack_sets"] = [s for s in data["stack_sets"] if s["name"] == "security-baseline"]
        for project in data.get("projects", []):
            project.pop("deployment_role", None)

    edit_yaml(config, lighter)
    apply(config)

    def retire(data: dict) -> None:
        next(p for p in data["policies"] if p["name"] == "sandbox-cost-guard")["state"] = "absent"
        sandbox_ou = next(o for o in data["ous"] if o["name"] == "Sandbox")
        sandbox_ou["policies"] = []
        for account in data["accounts"]:
            if account["email"] == "sandbox-experiments@delatsi-llc.com":
                account["state"] = "closed"

    edit_yaml(config, retire)
    held = replan(config)
    assert held.plan.empty
    assert {c.address for c in held.plan.held_back} == {
        'policy_attachment["sandbox-cost-guard" -> "/Sandbox"]',
        'policy["sandbox-cost-guard"]',
        'account["sandbox-experiments@delatsi-llc.com"]',
        # A closed account leaves every stack set's targets: its instance goes first.
        'stack_instance["security-baseline" -> "sandbox-experiments@delatsi-llc.com" -> '
        '"us-east-1"]',
    }
    order = [c.kind for c in held.plan.held_back]
    assert order == ["stack_instance", "policy_attachment", "account", "policy"]

    options = PlanOptions(allow_destroy=True)
    # The same snapshot planned with the flag (planning is pure): one read less.
    allowed = workflow.Planned(held.config, held.live, plan(held.config, held.live, options))
    _, after_plan = workflow.run_apply(allowed, AwsContext(), RecordingReporter(), options)
    assert "sandbox-cost-guard" not in live_tree(sandbox)["policies"]
    assert [c.address for c in after_plan.held_back] == [
        'account["sandbox-experiments@delatsi-llc.com"]'
    ]

    options = PlanOptions(allow_destroy=True, allow_close_accounts=True)
    after = apply(config, options)
    assert after.plan.empty and not after.plan.held_back
    _, _, closed_id = live_tree(sandbox)["accounts"]["sandbox-experiments@delatsi-llc.com"]
    status = sandbox.client("organizations").describe_account(AccountId=closed_id)
    assert status["Account"]["Status"] in {"SUSPENDED", "PENDING_CLOSURE"}


def test_nested_ous_rename_and_delete(sandbox: Sandbox, seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"

    def nest(data: dict) -> None:
        structure_only(data)  # OU nesting, renames and deletion are the point
        prod = next(o for o in data["ous"] if o["name"] == "Production")
        node = prod
        for level in ["Apps", "Tier", "Region", "Team"]:  # five levels with Production
            node["children"] = [{"name": level}]
            node = node["children"][0]
        data["accounts"][3]["ou"] = "/Production/Apps/Tier/Region/Team"

    edit_yaml(config, nest)
    assert apply(config).plan.empty
    tree = live_tree(sandbox)
    assert "/Production/Apps/Tier/Region/Team" in tree["paths"].values()
    apps_id = next(i for i, p in tree["paths"].items() if p == "/Production/Apps")

    def rename(data: dict) -> None:
        prod = next(o for o in data["ous"] if o["name"] == "Production")
        prod["children"][0].update(name="Applications", renamed_from="Apps")
        data["accounts"][3]["ou"] = "/Production/Applications/Tier/Region/Team"

    edit_yaml(config, rename)
    planned = replan(config)
    assert [(c.kind, c.action) for c in planned.plan.changes] == [("ou", Action.UPDATE)]
    assert apply(config).plan.empty
    tree = live_tree(sandbox)
    assert tree["paths"][apps_id] == "/Production/Applications"

    def remove_team(data: dict) -> None:
        prod = next(o for o in data["ous"] if o["name"] == "Production")
        region = prod["children"][0]["children"][0]["children"][0]
        region["children"][0]["state"] = "absent"
        data["accounts"][3]["ou"] = "/Production"

    edit_yaml(config, remove_team)
    after = apply(config, PlanOptions(allow_destroy=True))
    assert after.plan.empty
    assert "/Production/Applications/Tier/Region/Team" not in live_tree(sandbox)["paths"].values()


def test_many_accounts_are_read_across_pages(sandbox: Sandbox, seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"

    def many(data: dict) -> None:
        structure_only(data)  # pagination of the structure is the point
        data["accounts"] += [
            {
                "name": f"Load {i:02d}",
                "email": f"load-{i:02d}@delatsi-llc.com",
                "ou": "/Sandbox",
                "environment": "sandbox",
            }
            for i in range(30)
        ]

    edit_yaml(config, many)
    assert apply(config).plan.empty
    assert len(replan(config).live.accounts) == 41  # 40 declared + the management account
