"""``orgkit import`` on a moto server: organizations built by hand with raw boto3, imported,
then planned: the plan has no changes.

The property test builds random organizations (nested OUs with tags, accounts with tags, SCPs
and tag policies attached to the root, OUs and accounts, FullAWSAccess detached here and
there); the other tests pin the acceptance run through the CLI, what cannot be expressed, the
refusal to overwrite, and --merge keeping the existing file byte for byte.
"""

from __future__ import annotations

import difflib
import json
import tempfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgkit import workflow
from orgkit.cli.main import cli
from orgkit.importer import import_organization
from orgkit.live import AwsContext
from orgkit.plan import PlanOptions
from orgkit.sandbox.server import Sandbox
from tests.helpers import converged, is_write

SCP = "SERVICE_CONTROL_POLICY"
TAG = "TAG_POLICY"
# Emails under a domain email-validator accepts (example.com is reserved but allowed).
DOMAIN = "corp-example.com"
NAME = (
    st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.", min_size=1
    )
    .map(str.strip)
    .filter(bool)
)
TAGS = st.dictionaries(
    st.sampled_from(["Owner", "CostCenter", "Environment", "Team", "env"]),
    st.sampled_from(["prod", "dev", "Staging", "x", "", "platform@corp-example.com", "42"]),
    max_size=3,
)
# How many random organizations the property test builds and imports (about 1 s each: ~10 s).
EXAMPLES = 10


def scp(actions: list[str]) -> str:
    statement = {"Effect": "Deny", "Action": actions, "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def tag_policy(key: str) -> str:
    return json.dumps({"tags": {key: {"tag_key": {"@@assign": key}}}})


@st.composite
def organizations(draw: Any) -> dict[str, Any]:
    """A small random organization: OUs (parent: an earlier OU or the root, so they nest),
    accounts in any of them, SCPs and tag policies attached anywhere."""
    ou_count = draw(st.integers(1, 5))
    ous: list[dict[str, Any]] = []
    for index in range(ou_count):
        parent = draw(st.integers(-1, index - 1))  # -1: the root
        depth = 1 if parent < 0 else ous[parent]["depth"] + 1
        if depth > 4:
            parent, depth = -1, 1
        name = f"{draw(NAME)[:20]}{index}"  # unique among siblings
        ous.append({"name": name, "parent": parent, "depth": depth, "tags": draw(TAGS)})
    accounts = [
        {
            "name": f"{draw(NAME)[:30]} {index}",
            "email": f"acct{index}@{DOMAIN}",
            "parent": draw(st.integers(-1, ou_count - 1)),
            "tags": draw(TAGS),
        }
        for index in range(draw(st.integers(1, 4)))
    ]
    target_count = 1 + ou_count + len(accounts)  # the root, the OUs, the accounts
    policies = []
    kinds = [SCP] * draw(st.integers(1, 3)) + [TAG] * draw(st.integers(1, 2))
    for index, kind in enumerate(kinds):
        policies.append(
            {
                "name": f"{draw(NAME)[:40]}-{index}",
                "type": kind,
                "description": draw(st.sampled_from(["", "Deny things.", "ünïcode – desc"])),
                "targets": draw(st.sets(st.integers(0, target_count - 1), max_size=4)),
                "actions": draw(
                    st.lists(st.sampled_from(["s3:*", "ec2:RunInstances", "iam:*"]), min_size=1)
                ),
            }
        )
    # Every level gets at least one SCP and one tag policy, as the issue asks.
    policies[0]["targets"] |= {0, 1, target_count - 1}
    policies[-1]["targets"] |= {0, 1, target_count - 1}
    detached = draw(st.sets(st.integers(1, target_count - 1), max_size=2))
    return {"ous": ous, "accounts": accounts, "policies": policies, "detached": detached}


def build(box: Sandbox, spec: dict[str, Any]) -> None:
    """Make the organization with raw boto3, as an administrator would have by hand."""
    org = box.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    for policy_type in (SCP, TAG):
        org.enable_policy_type(RootId=root, PolicyType=policy_type)
    ou_ids: list[str] = []
    for ou in spec["ous"]:
        parent = root if ou["parent"] < 0 else ou_ids[ou["parent"]]
        tags = [{"Key": k, "Value": v} for k, v in ou["tags"].items()]
        created = org.create_organizational_unit(ParentId=parent, Name=ou["name"], Tags=tags)
        ou_ids.append(created["OrganizationalUnit"]["Id"])
    account_ids: list[str] = []
    for account in spec["accounts"]:
        tags = [{"Key": k, "Value": v} for k, v in account["tags"].items()]
        status = org.create_account(Email=account["email"], AccountName=account["name"], Tags=tags)
        account_id = status["CreateAccountStatus"]["AccountId"]
        account_ids.append(account_id)
        if account["parent"] >= 0:
            org.move_account(
                AccountId=account_id,
                SourceParentId=root,
                DestinationParentId=ou_ids[account["parent"]],
            )
    targets = [root, *ou_ids, *account_ids]
    for policy in spec["policies"]:
        content = scp(policy["actions"]) if policy["type"] == SCP else tag_policy("Team")
        policy_id = org.create_policy(
            Name=policy["name"],
            Description=policy["description"],
            Type=policy["type"],
            Content=content,
        )["Policy"]["PolicySummary"]["Id"]
        for index in sorted(policy["targets"]):
            org.attach_policy(PolicyId=policy_id, TargetId=targets[index])
    for index in spec["detached"]:
        org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=targets[index])


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=organizations())
def test_import_of_a_random_organization_plans_no_change(
    moto_server: Sandbox, spec: dict[str, Any]
) -> None:
    moto_server.reset(seed=42)
    moto_server.create_organization()
    build(moto_server, spec)
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "org.yaml"
        result = import_organization(config, AwsContext())
        assert result.remaining == ()
        assert [n for n in result.notes if n.kind == "skipped"] == []
        assert result.counts["ous"] == len(spec["ous"])
        assert result.counts["accounts"] == len(spec["accounts"])
        assert result.counts["policies"] == len(spec["policies"])
        planned = workflow.make_plan(config, AwsContext(), PlanOptions())
        assert planned.plan.in_sync, planned.plan.to_dict()
        assert planned.plan.unmanaged == (), planned.plan.to_dict()["unmanaged"]
        detached = [n for n in result.notes if "FullAWSAccess is not attached" in n.message]
        assert len(detached) == len(spec["detached"])


def hand_built(box: Sandbox) -> dict[str, str]:
    """An organization made with raw boto3: nested OUs, accounts, SCPs and a tag policy at
    every level, tags; and things org.yaml cannot say (an OU whose name starts with a space,
    a policy attached there, tags on a policy and on the root, FullAWSAccess detached)."""
    org = box.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    for policy_type in (SCP, TAG):
        org.enable_policy_type(RootId=root, PolicyType=policy_type)
    team = [{"Key": "Team", "Value": "platform"}]
    prod = org.create_organizational_unit(ParentId=root, Name="Production", Tags=team)
    prod_id = prod["OrganizationalUnit"]["Id"]
    apps_id = org.create_organizational_unit(ParentId=prod_id, Name="Apps")["OrganizationalUnit"][
        "Id"
    ]
    odd_id = org.create_organizational_unit(ParentId=root, Name=" Odd")["OrganizationalUnit"]["Id"]
    ids = {"root": root, "prod": prod_id, "apps": apps_id, "odd": odd_id}
    for key, email, parent, tags in (
        ("app", "app@corp-example.com", apps_id, [{"Key": "Environment", "Value": "prod"}]),
        ("loose", "loose@corp-example.com", root, []),
        ("odd-account", "odd@corp-example.com", odd_id, []),
    ):
        status = org.create_account(Email=email, AccountName=key, Tags=tags)
        ids[key] = status["CreateAccountStatus"]["AccountId"]
        if parent != root:
            org.move_account(AccountId=ids[key], SourceParentId=root, DestinationParentId=parent)
    deny = org.create_policy(
        Name="deny-s3",
        Description="No S3 deletes.",
        Type=SCP,
        Content=scp(["s3:DeleteBucket"]),
        Tags=[{"Key": "Owner", "Value": "sec"}],
    )["Policy"]["PolicySummary"]["Id"]
    for target in (root, prod_id, ids["app"]):
        org.attach_policy(PolicyId=deny, TargetId=target)
    tags = org.create_policy(Name="team-tag", Description="", Type=TAG, Content=tag_policy("Team"))
    org.attach_policy(PolicyId=tags["Policy"]["PolicySummary"]["Id"], TargetId=apps_id)
    odd = org.create_policy(Name="odd-guard", Description="", Type=SCP, Content=scp(["ec2:*"]))
    org.attach_policy(PolicyId=odd["Policy"]["PolicySummary"]["Id"], TargetId=odd_id)
    org.tag_resource(ResourceId=root, Tags=[{"Key": "Company", "Value": "DELATSI"}])
    org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=ids["loose"])
    return ids


def run(config: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def test_import_then_plan_reports_no_changes(
    sandbox: Sandbox, tmp_path: Path, aws_calls: list[str]
) -> None:
    """The acceptance run: a hand-built organization, `orgkit import`, `orgkit plan`."""
    hand_built(sandbox)
    config = tmp_path / "org.yaml"
    result = run(config, "import")
    assert result.exit_code == 0, result.output
    assert [c for c in aws_calls if is_write(c.split(".", 1)[1])] == []  # read-only
    text = config.read_text()
    assert text.startswith("# yaml-language-server: $schema=./org.schema.json\n")
    assert "Imported from the live organization by `orgkit import` on" in text
    assert json.loads((tmp_path / "scps" / "deny-s3.json").read_text())["Statement"][0][
        "Action"
    ] == ["s3:DeleteBucket"]
    assert (tmp_path / "policies" / "team-tag.json").is_file()
    assert (tmp_path / "org.schema.json").is_file()

    plan = run(config, "plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "No changes." in plan.output


def test_what_cannot_be_expressed_is_reported_and_left_unmanaged(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    hand_built(sandbox)
    config = tmp_path / "org.yaml"
    result = import_organization(config, AwsContext())
    notes = {(n.address, n.kind): n.message for n in result.notes}
    assert "starts or ends with spaces" in notes[('ou["/ Odd"]', "skipped")]
    assert "its OU / Odd is not declared" in notes[('account["odd@corp-example.com"]', "skipped")]
    assert "attached to / Odd" in notes[('policy["odd-guard"]', "skipped")]
    assert "Owner=sec" in notes[('policy["deny-s3"]', "left out")]
    organization = [n.message for n in result.notes if n.address == "organization"]
    assert any("root's tags (Company=DELATSI)" in m for m in organization)
    assert (
        "not attached to loose@corp-example.com" in notes[('policy["FullAWSAccess"]', "left out")]
    )
    assert "shared is the default" in notes[('account["loose@corp-example.com"]', "guessed")]
    assert "stack sets, budgets" in " ".join(n.message for n in result.notes)
    assert result.remaining == ()
    # The loose account's guess is marked in the file too.
    assert "environment: shared  # guessed" in config.read_text()

    planned = workflow.make_plan(config, AwsContext(), PlanOptions())
    assert planned.plan.in_sync
    assert {u.address for u in planned.plan.unmanaged} == {
        'ou["/ Odd"]',
        'account["odd@corp-example.com"]',
        'policy["odd-guard"]',
    }


def test_import_refuses_to_overwrite_without_force(sandbox: Sandbox, tmp_path: Path) -> None:
    hand_built(sandbox)
    config = tmp_path / "org.yaml"
    config.write_text("# mine\n")
    result = run(config, "import")
    assert result.exit_code == 1
    assert "exists; orgkit import does not overwrite it" in result.output
    assert config.read_text() == "# mine\n"

    config.unlink()
    (tmp_path / "scps").mkdir()
    (tmp_path / "scps" / "deny-s3.json").write_text("{}\n")
    result = run(config, "import")
    assert result.exit_code == 1
    assert "policy files exist" in result.output
    assert not config.exists()
    assert (tmp_path / "scps" / "deny-s3.json").read_text() == "{}\n"

    result = run(config, "import", "--force")
    assert result.exit_code == 0, result.output
    assert "s3:DeleteBucket" in (tmp_path / "scps" / "deny-s3.json").read_text()


def test_dry_run_writes_nothing_and_prints_the_files(sandbox: Sandbox, tmp_path: Path) -> None:
    hand_built(sandbox)
    result = run(tmp_path / "org.yaml", "import", "--dry-run")
    assert result.exit_code == 0, result.output
    assert list(tmp_path.iterdir()) == []
    assert "would create" in result.output
    assert "email: app@corp-example.com" in result.output
    assert '"s3:DeleteBucket"' in result.output


HAND_WRITTEN = """\
# yaml-language-server: $schema=./org.schema.json
# Our organization. Hand-written; keep these comments.

version: 1

organization:
  name: Example Corp   # the display name
  management_account_id: "123456789012"
  policies: [deny-s3]

policies:
  - name: deny-s3
    file: scps/deny-s3.json
    description: 'No S3 deletes.'

# OUs by path.
ous:
  - name: Production
    policies:
      - deny-s3   # guardrail

accounts:
  - name: app
    email: app@corp-example.com
    ou: /Production
    environment: prod

# The end.
"""


def test_merge_adds_what_is_unmanaged_and_keeps_the_file_byte_for_byte(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = tmp_path / "org.yaml"
    config.write_text(HAND_WRITTEN)
    (tmp_path / "scps").mkdir()
    (tmp_path / "scps" / "deny-s3.json").write_text(scp(["s3:DeleteBucket"]))
    converged(config)
    # Changes made by hand since: an OU under a declared one, an account in it, a new SCP on
    # the declared OU and the new account, the declared policy on the new account too.
    org = sandbox.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    prod = org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"][0]["Id"]
    web = org.create_organizational_unit(ParentId=prod, Name="Web")["OrganizationalUnit"]["Id"]
    status = org.create_account(Email="web@corp-example.com", AccountName="web")
    web_account = status["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=web_account, SourceParentId=root, DestinationParentId=web)
    new = org.create_policy(Name="deny-iam", Description="", Type=SCP, Content=scp(["iam:*"]))
    new_id = new["Policy"]["PolicySummary"]["Id"]
    deny_s3 = next(
        p["Id"] for p in org.list_policies(Filter=SCP)["Policies"] if p["Name"] == "deny-s3"
    )
    for policy, target in ((new_id, prod), (new_id, web_account), (deny_s3, web_account)):
        org.attach_policy(PolicyId=policy, TargetId=target)
    before = workflow.make_plan(config, AwsContext(), PlanOptions())
    assert len(before.plan.unmanaged) == 3 and len(before.plan.held_back) == 1  # detach

    result = run(config, "import", "--merge")
    assert result.exit_code == 0, result.output

    after = config.read_text()
    diff = list(difflib.ndiff(HAND_WRITTEN.splitlines(True), after.splitlines(True)))
    assert [line for line in diff if line.startswith("- ")] == []  # nothing removed or changed
    added = "".join(line[2:] for line in diff if line.startswith("+ "))
    assert "name: deny-iam" in added and "name: Web" in added
    assert "email: web@corp-example.com" in added
    assert (tmp_path / "scps" / "deny-iam.json").is_file()
    planned = workflow.make_plan(config, AwsContext(), PlanOptions())
    assert planned.plan.in_sync, planned.plan.to_dict()
    assert planned.plan.unmanaged == ()

    # Merging again adds nothing: the file stays as it is.
    again = run(config, "import", "--merge")
    assert again.exit_code == 0, again.output
    assert config.read_text() == after
