"""Policies of every type on a moto server: apply creates and attaches each where org.yaml says
(checked with raw boto3, one ListPolicies per type), and a hand edit or detach of an RCP, a tag
or a backup policy is planned back, shown by ``orgkit drift``, and applied back.

The seed org.yaml without what is read inside accounts (structure_only): the policies are the
point, and the run takes seconds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from orgkit import workflow
from orgkit.cli.main import cli
from orgkit.live import AwsContext
from orgkit.plan import Action, PlanOptions
from orgkit.sandbox.server import Sandbox
from tests.helpers import RecordingReporter, converged, edit_yaml, replan, structure_only

TYPES = {
    "data-perimeter": "RESOURCE_CONTROL_POLICY",
    "tagging": "TAG_POLICY",
    "prod-backups": "BACKUP_POLICY",
    "ai-opt-out": "AISERVICES_OPT_OUT_POLICY",
}


def policies_of_type(box: Sandbox, policy_type: str) -> dict[str, dict[str, Any]]:
    """Customer policies of one type: name -> {id, content, targets (ids)}."""
    org = box.client("organizations")
    found = {}
    for policy in org.list_policies(Filter=policy_type)["Policies"]:
        if policy["AwsManaged"]:
            continue
        targets = org.list_targets_for_policy(PolicyId=policy["Id"])["Targets"]
        found[policy["Name"]] = {
            "id": policy["Id"],
            "type": policy["Type"],
            "content": json.loads(org.describe_policy(PolicyId=policy["Id"])["Policy"]["Content"]),
            "targets": {t["TargetId"] for t in targets},
        }
    return found


def ids(box: Sandbox) -> dict[str, str]:
    """The root and the top-level OUs by path."""
    org = box.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    ous = org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
    return {"/": root, **{f"/{o['Name']}": o["Id"] for o in ous}}


def run(config: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def test_apply_creates_and_attaches_every_type_where_org_yaml_says(
    sandbox: Sandbox, seed_dir: Path
) -> None:
    config = seed_dir / "org.yaml"
    edit_yaml(config, structure_only)
    planned = converged(config)

    where = ids(sandbox)
    organization_id = planned.live.organization_id
    expected = {
        "data-perimeter": {where["/"]},
        "tagging": {where["/"]},
        "ai-opt-out": {where["/"]},
        "prod-backups": {where["/Production"]},
    }
    for name, policy_type in TYPES.items():
        live = policies_of_type(sandbox, policy_type)
        assert list(live) == [name], policy_type
        assert live[name]["type"] == policy_type
        assert live[name]["targets"] == expected[name]
    rcp = policies_of_type(sandbox, "RESOURCE_CONTROL_POLICY")["data-perimeter"]["content"]
    conditions = [s["Condition"]["StringNotEqualsIfExists"] for s in rcp["Statement"]]
    assert conditions == [
        {"aws:PrincipalOrgID": organization_id},
        {"aws:SourceOrgID": organization_id},
    ]
    tags = policies_of_type(sandbox, "TAG_POLICY")["tagging"]["content"]
    assert tags["tags"]["project"]["tag_value"]["@@assign"] == [
        "themisguard",
        "log-archive",
        "security-baseline",
        "security-tooling",
    ]
    backup = policies_of_type(sandbox, "BACKUP_POLICY")["prod-backups"]["content"]
    rule = backup["plans"]["themisguard-stripe-tables"]["rules"]["daily"]
    assert rule["lifecycle"]["delete_after_days"] == {"@@assign": "35"}
    # The SCPs are where they were; AWS's own FullAWSAccess and RCPFullAWSAccess are untouched.
    scps = policies_of_type(sandbox, "SERVICE_CONTROL_POLICY")
    assert scps["sandbox-cost-guard"]["targets"] == {where["/Sandbox"]}
    managed = sandbox.client("organizations").list_policies_for_target(
        TargetId=where["/"], Filter="RESOURCE_CONTROL_POLICY"
    )["Policies"]
    assert {p["Name"] for p in managed} == {"RCPFullAWSAccess", "data-perimeter"}
    assert planned.plan.unmanaged == ()


def test_hand_edits_and_detaches_of_rcp_tag_and_backup_policies_are_planned_back(
    sandbox: Sandbox, seed_dir: Path
) -> None:
    config = seed_dir / "org.yaml"
    edit_yaml(config, structure_only)
    converged(config)
    org = sandbox.client("organizations")
    where = ids(sandbox)

    # Console edits: loosen the perimeter, allow any Environment value, keep backups 1 day,
    # detach the perimeter from the root and the backup policy from /Production, and add a
    # tag policy of one's own.
    rcp = policies_of_type(sandbox, "RESOURCE_CONTROL_POLICY")["data-perimeter"]
    loosened = rcp["content"]
    loosened["Statement"][0]["Action"] = ["s3:GetObject"]
    org.update_policy(PolicyId=rcp["id"], Content=json.dumps(loosened))
    org.detach_policy(PolicyId=rcp["id"], TargetId=where["/"])
    tag = policies_of_type(sandbox, "TAG_POLICY")["tagging"]
    anything = tag["content"]
    anything["tags"]["environment"]["tag_value"]["@@assign"] = ["*"]
    org.update_policy(PolicyId=tag["id"], Content=json.dumps(anything))
    backup = policies_of_type(sandbox, "BACKUP_POLICY")["prod-backups"]
    short = backup["content"]
    short["plans"]["themisguard-stripe-tables"]["rules"]["daily"]["lifecycle"] = {
        "delete_after_days": {"@@assign": "1"}
    }
    org.update_policy(PolicyId=backup["id"], Content=json.dumps(short))
    org.detach_policy(PolicyId=backup["id"], TargetId=where["/Production"])
    org.create_policy(
        Name="someones-tags", Description="", Type="TAG_POLICY", Content='{"tags": {}}'
    )

    planned = replan(config)
    changes = [(c.action, c.address, c.to_dict()["after"]["type"]) for c in planned.plan.changes]
    assert changes == [
        (Action.UPDATE, 'policy["data-perimeter"]', "RESOURCE_CONTROL_POLICY"),
        (Action.UPDATE, 'policy["tagging"]', "TAG_POLICY"),
        (Action.UPDATE, 'policy["prod-backups"]', "BACKUP_POLICY"),
        (Action.CREATE, 'policy_attachment["data-perimeter" -> "/"]', "RESOURCE_CONTROL_POLICY"),
        (Action.CREATE, 'policy_attachment["prod-backups" -> "/Production"]', "BACKUP_POLICY"),
    ]
    assert [(u.address, u.detail.split()[:2]) for u in planned.plan.unmanaged] == [
        ('policy["someones-tags"]', ["tag", "policy"])
    ]

    # drift says the same, with each policy's type, in text and in JSON.
    text = run(config, "drift")
    assert text.exit_code == 2, text.output
    assert ' policy["data-perimeter"]  (RCP)\n' in text.stdout  # after the symbol
    assert ' policy["tagging"]  (tag policy)\n' in text.stdout
    assert ' policy_attachment["prod-backups" -> "/Production"]  (backup policy)\n' in text.stdout
    assert '  ? policy["someones-tags"]  tag policy' in text.stdout  # unmanaged, apart
    report = json.loads(run(config, "drift", "--json").stdout)
    findings = {f["address"]: f for f in report["findings"]}
    assert findings['policy["prod-backups"]']["issue"] == "changed"
    assert "type" not in findings['policy["prod-backups"]']["actual"]  # only what differs
    whole = json.loads(run(config, "drift", "--json", "--whole").stdout)
    whole_findings = {f["address"]: f for f in whole["findings"]}
    assert whole_findings['policy["prod-backups"]']["actual"]["type"] == "BACKUP_POLICY"
    assert findings['policy_attachment["data-perimeter" -> "/"]']["issue"] == "missing"
    assert findings['policy["someones-tags"]']["issue"] == "unmanaged"

    _, after = workflow.run_apply(planned, AwsContext(), RecordingReporter(), PlanOptions())
    assert after.empty
    restored = {
        name: policies_of_type(sandbox, policy_type)[name] for name, policy_type in TYPES.items()
    }
    assert restored["data-perimeter"]["targets"] == {where["/"]}
    assert restored["prod-backups"]["targets"] == {where["/Production"]}
    assert "s3:*" in restored["data-perimeter"]["content"]["Statement"][0]["Action"]
    environments = restored["tagging"]["content"]["tags"]["environment"]["tag_value"]
    assert environments == {"@@assign": ["dev", "staging", "prod", "shared", "security", "sandbox"]}
    # The hand-made policy is reported, never deleted.
    assert "someones-tags" in policies_of_type(sandbox, "TAG_POLICY")


def test_a_policy_type_is_enabled_only_when_a_present_policy_uses_it(
    sandbox: Sandbox, seed_dir: Path
) -> None:
    config = seed_dir / "org.yaml"

    def only_scps(data: dict[str, Any]) -> None:
        structure_only(data)
        kept = {p["name"] for p in data["policies"] if "type" not in p}
        data["organization"]["policies"] = [
            n for n in data["organization"]["policies"] if n in kept
        ]
        for ou in data["ous"]:
            ou["policies"] = [n for n in ou.get("policies", []) if n in kept]
        tagging = next(p for p in data["policies"] if p["name"] == "tagging")
        tagging["state"] = "absent"
        data["policies"] = [p for p in data["policies"] if p["name"] in kept] + [tagging]

    edit_yaml(config, only_scps)
    planned = replan(config)
    enabled = [c.address for c in planned.plan.changes if c.kind == "policy_type"]
    assert enabled == ['policy_type["SERVICE_CONTROL_POLICY"]']
    converged(config)
    root = sandbox.client("organizations").list_roots()["Roots"][0]
    assert [t["Type"] for t in root["PolicyTypes"]] == ["SERVICE_CONTROL_POLICY"]


def test_every_type_attaches_to_an_ou_and_to_an_account(sandbox: Sandbox, seed_dir: Path) -> None:
    """Beyond the seed's places (the root, /Production): each type on the /Sandbox OU and on an
    account, and moved off them again with --allow-destroy."""
    config = seed_dir / "org.yaml"
    placed = ["data-perimeter", "tagging", "prod-backups", "ai-opt-out"]

    def spread(data: dict[str, Any]) -> None:
        structure_only(data)
        next(o for o in data["ous"] if o["name"] == "Sandbox")["policies"] += placed
        account = next(a for a in data["accounts"] if a["email"].startswith("sandbox-personal"))
        account["policies"] = list(placed)

    edit_yaml(config, spread)
    converged(config)
    where = ids(sandbox)
    accounts = {
        a["Email"]: a["Id"] for a in sandbox.client("organizations").list_accounts()["Accounts"]
    }
    personal = accounts["sandbox-personal@delatsi-llc.com"]
    for name in placed:
        targets = policies_of_type(sandbox, TYPES[name])[name]["targets"]
        assert {where["/Sandbox"], personal} <= targets, name

    def gather(data: dict[str, Any]) -> None:
        next(o for o in data["ous"] if o["name"] == "Sandbox")["policies"] = ["sandbox-cost-guard"]
        for account in data["accounts"]:
            if account["email"].startswith("sandbox-personal"):
                account.pop("policies", None)

    edit_yaml(config, gather)
    detaches = replan(config, PlanOptions(allow_destroy=True)).plan.changes
    assert {(c.action, c.to_dict()["before"]["type"]) for c in detaches} == {
        (Action.DELETE, policy_type) for policy_type in TYPES.values()
    }
    assert len(detaches) == 8
    after = workflow.run_apply(
        replan(config, PlanOptions(allow_destroy=True)),
        AwsContext(),
        RecordingReporter(),
        PlanOptions(allow_destroy=True),
    )[1]
    assert after.empty
    for name in placed:
        targets = policies_of_type(sandbox, TYPES[name])[name]["targets"]
        assert not {where["/Sandbox"], personal} & targets, name
