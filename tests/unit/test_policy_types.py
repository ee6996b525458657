"""Policies of every Organizations type: each type's grammar and size quota, checked before any
AWS call with file, line and field; the organization id placeholder; the EnablePolicyType wait.

The failing cases that need files live in ``bad/`` (``rcp-*``, ``tag-policy-*``,
``backup-policy-*``, ``ai-opt-out-policy-*``, ``policy-name-unique-across-types``,
``policies-per-target-per-type``); this module covers what a table says better.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from orgkit.changes import Action, Change
from orgkit.config.loader import load_config
from orgkit.config.policies import LONGEST_ORGANIZATION_ID, fill_ids
from orgkit.errors import AwsError, ConfigError
from orgkit.kinds.base import Ids
from orgkit.kinds.policy import types_to_read
from orgkit.kinds.policy_type import ENABLE_POLL, PolicyTypeOn, enable
from orgkit.live.model import LiveOrg
from orgkit.names import POLICY_TYPES, ROOT_PATH
from orgkit.quotas import Quotas

REPO = Path(__file__).resolve().parents[2]

RCP = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "OrgOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:*", "sts:AssumeRole"],
            "Resource": "*",
            "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "${OrganizationId}"}},
        }
    ],
}
SCP = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
TAG = {
    "tags": {
        "environment": {
            "tag_key": {"@@assign": "Environment"},
            "tag_value": {"@@assign": ["dev", "prod"]},
            "enforced_for": {"@@assign": ["dynamodb:table", "s3:bucket"]},
        }
    }
}
BACKUP = {
    "plans": {
        "daily": {
            "regions": {"@@append": ["us-east-1"]},
            "@@operators_allowed_for_child_policies": ["@@none"],
            "rules": {
                "daily": {
                    "schedule_expression": {"@@assign": "cron(0 5 ? * * *)"},
                    "target_backup_vault_name": {"@@assign": "vault"},
                    "lifecycle": {"delete_after_days": {"@@assign": "35"}},
                }
            },
            "selections": {
                "tags": {
                    "tables": {
                        "iam_role_arn": {"@@assign": "arn:aws:iam::$account:role/backup"},
                        "tag_key": {"@@assign": "Backup"},
                        "tag_value": {"@@assign": ["daily"]},
                    }
                }
            },
        }
    }
}
AI = {"services": {"default": {"opt_out_policy": {"@@assign": "optOut"}}}}
DOCUMENTS = {
    "service_control": SCP,
    "resource_control": RCP,
    "tag": TAG,
    "backup": BACKUP,
    "aiservices_opt_out": AI,
}


def write_org(tmp_path: Path, policies: list[dict[str, Any]], extra: str = "") -> Path:
    lines = [
        "version: 1",
        'organization: {name: T, management_account_id: "123456789012"}',
        *textwrap.dedent(extra).splitlines(),
        "policies:",
    ]
    for policy in policies:
        lines.append(f"  - {json.dumps(policy)}")
    (tmp_path / "org.yaml").write_text("\n".join(lines) + "\n")
    return tmp_path / "org.yaml"


def put(tmp_path: Path, relative: str, document: Any) -> str:
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return relative


def test_a_valid_policy_of_every_type_loads_from_either_folder(tmp_path: Path) -> None:
    policies = [
        {
            "name": f"p-{name}",
            "type": name,
            "file": put(tmp_path, f"{'scps' if i % 2 else 'policies'}/{name}.json", document),
        }
        for i, (name, document) in enumerate(DOCUMENTS.items())
    ]
    config = load_config(write_org(tmp_path, policies))
    assert {p.name: p.type for p in config.policies.values()} == {
        f"p-{name}": name for name in DOCUMENTS
    }
    assert config.policies["p-tag"].document == TAG


def test_type_defaults_to_service_control(tmp_path: Path) -> None:
    config = load_config(
        write_org(tmp_path, [{"name": "s", "file": put(tmp_path, "scps/s.json", SCP)}])
    )
    assert config.spec.policies[0].type == "service_control"
    assert config.policies["s"].type == "service_control"


@pytest.mark.parametrize(
    ("policy_type", "quota"),
    [
        ("service_control", 10_240),
        ("resource_control", 5_120),
        ("tag", 10_000),
        ("backup", 10_000),
        ("aiservices_opt_out", 2_500),
    ],
)
def test_each_type_has_its_own_size_quota(tmp_path: Path, policy_type: str, quota: int) -> None:
    """At the quota the policy loads; one character more and validate names file, line and
    field. The padding is a Sid or a tag value, so the grammar stays valid."""
    assert Quotas().policy_max_characters(policy_type) == quota
    base = DOCUMENTS[policy_type]

    def padded(extra: int) -> dict[str, Any]:
        document = json.loads(json.dumps(base))
        if policy_type in ("service_control", "resource_control"):
            document["Statement"][0]["Sid"] = "S" * extra
        else:
            root = next(iter(document))
            document[root]["pad"] = "p" * extra
        return document

    # Find the padding that makes the document exactly `quota` characters as AWS counts them.
    def size(extra: int) -> int:
        text = json.dumps(padded(extra), separators=(",", ":"))
        return len(text.replace("${OrganizationId}", LONGEST_ORGANIZATION_ID))

    fits = quota - size(1) + 1
    assert size(fits) == quota
    config = load_config(
        write_org(
            tmp_path,
            [{"name": "p", "type": policy_type, "file": put(tmp_path, "p.json", padded(fits))}],
        )
    )
    assert config.policies["p"].size == quota

    put(tmp_path, "p.json", padded(fits + 1))
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "org.yaml")
    [issue] = caught.value.issues
    assert (Path(issue.file).name, issue.line, issue.field) == ("org.yaml", 4, 'policies["p"].file')
    assert f"is {quota + 1} characters without whitespace; AWS allows {quota}" in issue.message


def test_quotas_can_be_overridden_per_type(tmp_path: Path) -> None:
    write_org(
        tmp_path,
        [{"name": "t", "type": "tag", "file": put(tmp_path, "policies/t.json", TAG)}],
        extra="quotas: {tag_policy_max_characters: 100, scp_max_characters: 10240}",
    )
    with pytest.raises(ConfigError, match="AWS allows 100 for tag policies"):
        load_config(tmp_path / "org.yaml")


def test_the_organization_id_placeholder_is_measured_at_its_longest_and_filled_in() -> None:
    document = {"Condition": {"aws:PrincipalOrgID": "${OrganizationId}"}, "List": ["x"]}
    filled = fill_ids(document, "o-abc1234567", "210987654321")
    assert filled == {"Condition": {"aws:PrincipalOrgID": "o-abc1234567"}, "List": ["x"]}
    assert fill_ids({"Account": "${ManagementAccountId}"}, "o-x", "123") == {"Account": "123"}
    assert len(LONGEST_ORGANIZATION_ID) == 34  # AWS: ^o-[a-z0-9]{10,32}$


def test_a_jinja_policy_gets_the_organization_id_placeholder_and_the_projects(
    tmp_path: Path,
) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.json.j2").write_text(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",\n'
        ' "Action": "s3:*", "Resource": "*", "Sid": "{{ projects | join }}",\n'
        ' "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "{{ organization_id }}"}}}]}\n'
    )
    write_org(
        tmp_path,
        [{"name": "p", "type": "resource_control", "file": "policies/p.json.j2"}],
        extra="projects: [{name: alpha}, {name: beta}]",
    )
    document = load_config(tmp_path / "org.yaml").policies["p"].document
    statement = document["Statement"][0]
    assert statement["Condition"]["StringNotEquals"]["aws:PrincipalOrgID"] == "${OrganizationId}"
    assert statement["Sid"] == "alphabeta"


def test_a_symlinked_policies_folder_leading_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    put(outside, "t.json", TAG)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "policies").symlink_to(outside)
    write_org(repo, [{"name": "t", "type": "tag", "file": "policies/t.json"}])
    with pytest.raises(ConfigError) as caught:
        load_config(repo / "org.yaml")
    [issue] = caught.value.issues
    assert (issue.line, issue.field) == (4, 'policies["t"].file')
    assert "policies/t.json leads outside org.yaml's folder" in issue.message


@pytest.mark.parametrize(
    ("policy_type", "document", "message"),
    [
        ("tag", {"tags": {"k": {"tag_key": {"@@remove": "K"}}}}, "@@remove takes a list"),
        ("tag", {"tags": []}, "tags: must be a JSON object"),
        ("tag", {"tags": {"k": {"enforced_for": {"@@assign": ["dynamodb"]}}}}, "'dynamodb' is"),
        ("backup", {"plans": {"p": {"@@operators_allowed_for_child_policies": "@@all"}}}, "list"),
        ("backup", {"Plans": {}}, 'need a top-level "plans" object'),
        ("aiservices_opt_out", {"services": {"default": {"opt_out_policy": "out"}}}, "'out'"),
        (
            "aiservices_opt_out",
            {"services": {"default": {"@@assign": {}}}, "x": 1},
            "x: unknown top-level key: AI opt-out policies have one",
        ),
        ("resource_control", {"Version": "2012-10-17", "Statement": []}, None),
        (
            "resource_control",
            {"Version": "2012-10-17", "Id": "x", "Extra": 1, "Statement": []},
            "Extra: not an RCP element",
        ),
        (
            "resource_control",
            {
                "Version": "2012-10-17",
                "Statement": {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"},
            },
            None,
        ),
        ("service_control", TAG, "a policy needs a Statement"),
        ("tag", SCP, 'unknown top-level key: tag policies have one, "tags"'),
    ],
)
def test_grammar_table(
    tmp_path: Path, policy_type: str, document: Any, message: str | None
) -> None:
    write_org(
        tmp_path, [{"name": "p", "type": policy_type, "file": put(tmp_path, "p.json", document)}]
    )
    if message is None:
        load_config(tmp_path / "org.yaml")
        return
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "org.yaml")
    issues = [str(i) for i in caught.value.issues]
    assert any(message in issue and issue.startswith("p.json") for issue in issues), issues


def test_the_reader_lists_scps_enabled_and_declared_types_once_each_in_order() -> None:
    assert types_to_read([], []) == ["SERVICE_CONTROL_POLICY"]
    assert types_to_read(["TAG_POLICY"], ["BACKUP_POLICY", "TAG_POLICY"]) == [
        "SERVICE_CONTROL_POLICY",
        "TAG_POLICY",
        "BACKUP_POLICY",
    ]
    assert types_to_read(["CHATBOT_POLICY"], []) == ["SERVICE_CONTROL_POLICY", "CHATBOT_POLICY"]
    assert [t.name for t in POLICY_TYPES] == list(DOCUMENTS)


# -- EnablePolicyType waits until AWS says ENABLED ------------------------------------------
class FakeRoots:
    """EnablePolicyType, then ListRoots answering a scripted series of statuses."""

    def __init__(self, statuses: list[str | None], already: bool = False) -> None:
        self.statuses = statuses
        self.already = already
        self.enabled: list[str] = []

    def enable_policy_type(self, RootId: str, PolicyType: str) -> dict[str, Any]:  # noqa: N803
        self.enabled.append(PolicyType)
        if self.already:
            raise ClientError(
                {"Error": {"Code": "PolicyTypeAlreadyEnabledException", "Message": "enabled"}},
                "EnablePolicyType",
            )
        return {}

    def list_roots(self) -> dict[str, Any]:
        status = self.statuses.pop(0)
        types = [] if status is None else [{"Type": "TAG_POLICY", "Status": status}]
        return {"Roots": [{"Id": "r-root", "PolicyTypes": types}]}


class FakeAws:
    def __init__(self, client: FakeRoots) -> None:
        self.organizations = client

    def client(self, service: str, region: str | None = None) -> FakeRoots:
        assert service == "organizations"
        return self.organizations


def apply_context(client: FakeRoots, sleeps: list[float], clock: Any = None) -> Any:
    from orgkit.kinds.base import ApplyContext

    live = LiveOrg("o-abc", "123456789012", "ALL", "r-root", (), (), (), ())
    return ApplyContext(
        aws=FakeAws(client),  # type: ignore[arg-type]
        ids=Ids(live),
        reporter=None,  # type: ignore[arg-type]
        management_id="123456789012",
        sleep=sleeps.append,
        **({"clock": clock} if clock else {}),
    )


def enable_tag_policies() -> Change:
    return Change(
        'policy_type["TAG_POLICY"]',
        "policy_type",
        Action.CREATE,
        None,
        PolicyTypeOn(type="TAG_POLICY", root=ROOT_PATH),
    )


def test_enable_waits_while_the_type_is_pending() -> None:
    client = FakeRoots(["PENDING_ENABLE", "PENDING_ENABLE", "ENABLED"])
    sleeps: list[float] = []
    assert enable(apply_context(client, sleeps), enable_tag_policies()) == "enabled"
    assert client.enabled == ["TAG_POLICY"]
    assert sleeps == [1.0, 2.0]


def test_enable_of_a_type_already_enabled_only_waits_for_it() -> None:
    client = FakeRoots(["ENABLED"], already=True)
    sleeps: list[float] = []
    assert enable(apply_context(client, sleeps), enable_tag_policies()) == "enabled"
    assert sleeps == []


def test_enable_gives_up_after_the_poll_timeout() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    client = FakeRoots([None] * 1000)
    context = apply_context(client, [], clock=lambda: now[0])
    context.sleep = sleep
    with pytest.raises(AwsError, match="TAG_POLICY is still not listed on the root after 300 s"):
        enable(context, enable_tag_policies())
    assert now[0] >= ENABLE_POLL.timeout - ENABLE_POLL.max_delay


# -- planning every type ---------------------------------------------------------------------
TYPED_ORG = """\
version: 1
organization:
  name: T
  management_account_id: "111111111111"
  policies: [deny-all, perimeter, tagging, ai-opt-out]
policies:
  - {name: deny-all, file: scps/deny-all.json}
  - {name: perimeter, type: resource_control, file: policies/perimeter.json}
  - {name: tagging, type: tag, file: policies/tagging.json}
  - {name: backups, type: backup, file: policies/backups.json}
  - {name: ai-opt-out, type: aiservices_opt_out, file: policies/ai.json}
  - {name: old-tags, type: tag, file: policies/tagging.json, state: absent}
ous:
  - name: Prod
    policies: [backups]
accounts:
  - {name: App, email: app@example.com, ou: /Prod, environment: prod, policies: [tagging]}
"""
TYPED_FILES = {
    "scps/deny-all.json": SCP,
    "policies/perimeter.json": RCP,
    "policies/tagging.json": TAG,
    "policies/backups.json": BACKUP,
    "policies/ai.json": AI,
}
ROOT_ID, PROD_OU, APP_ID = "r-root", "ou-root-prod", "222222222222"


def typed_config(tmp_path: Path) -> Any:
    for relative, document in TYPED_FILES.items():
        put(tmp_path, relative, document)
    (tmp_path / "org.yaml").write_text(TYPED_ORG)
    return load_config(tmp_path / "org.yaml")


def typed_live(
    policies: tuple[Any, ...] = (), types: tuple[str, ...] = ("SERVICE_CONTROL_POLICY",)
):
    from orgkit.live.model import LiveAccount, LiveOU, LivePolicy

    managed = (
        LivePolicy("p-FullAWSAccess", "FullAWSAccess", "", True, type="SERVICE_CONTROL_POLICY"),
        LivePolicy(
            "p-RCPFullAWSAccess", "RCPFullAWSAccess", "", True, type="RESOURCE_CONTROL_POLICY"
        ),
    )
    return LiveOrg(
        organization_id="o-test123456",
        management_account_id="111111111111",
        feature_set="ALL",
        root_id=ROOT_ID,
        policy_types=types,
        ous=(LiveOU(PROD_OU, "Prod", "/Prod", ROOT_ID),),
        accounts=(
            LiveAccount("111111111111", "Mgmt", "m@example.com", "ACTIVE", ROOT_ID),
            LiveAccount(APP_ID, "App", "app@example.com", "ACTIVE", PROD_OU),
        ),
        policies=(*managed, *policies),
    )


def live_policy(policy_id: str, name: str, aws_type: str, document: Any, *targets: str) -> Any:
    from orgkit.live.model import LivePolicy

    return LivePolicy(policy_id, name, "", False, json.dumps(document), targets, aws_type)


RCP_LIVE = json.loads(json.dumps(RCP).replace("${OrganizationId}", "o-test123456"))
SYNCED = (
    live_policy("p-scp", "deny-all", "SERVICE_CONTROL_POLICY", SCP, ROOT_ID),
    live_policy("p-rcp", "perimeter", "RESOURCE_CONTROL_POLICY", RCP_LIVE, ROOT_ID),
    live_policy("p-tag", "tagging", "TAG_POLICY", TAG, ROOT_ID, APP_ID),
    live_policy("p-bak", "backups", "BACKUP_POLICY", BACKUP, PROD_OU),
    live_policy("p-ai", "ai-opt-out", "AISERVICES_OPT_OUT_POLICY", AI, ROOT_ID),
)
ALL_TYPES = tuple(t.aws for t in POLICY_TYPES)


def test_an_empty_organization_gets_each_type_enabled_then_its_policies(tmp_path: Path) -> None:
    from orgkit.plan import plan

    result = plan(typed_config(tmp_path), typed_live())
    lines = [f"{c.action.symbol} {c.address}" for c in result.changes]
    assert lines == [
        # SCPs are enabled already; the others before any policy (absent old-tags needs none).
        '+ policy_type["RESOURCE_CONTROL_POLICY"]',
        '+ policy_type["TAG_POLICY"]',
        '+ policy_type["BACKUP_POLICY"]',
        '+ policy_type["AISERVICES_OPT_OUT_POLICY"]',
        '+ policy["deny-all"]',
        '+ policy["perimeter"]',
        '+ policy["tagging"]',
        '+ policy["backups"]',
        '+ policy["ai-opt-out"]',
        '+ policy_attachment["deny-all" -> "/"]',
        '+ policy_attachment["perimeter" -> "/"]',
        '+ policy_attachment["tagging" -> "/"]',
        '+ policy_attachment["backups" -> "/Prod"]',
        '+ policy_attachment["ai-opt-out" -> "/"]',
        '+ policy_attachment["tagging" -> "app@example.com"]',
    ]
    by_address = {c.address: c.to_dict()["after"] for c in result.changes}
    assert by_address['policy["perimeter"]']["type"] == "RESOURCE_CONTROL_POLICY"
    assert by_address['policy["backups"]']["type"] == "BACKUP_POLICY"
    assert by_address['policy_attachment["backups" -> "/Prod"]']["type"] == "BACKUP_POLICY"
    # The placeholder is the live organization's id in what is created.
    statement = by_address['policy["perimeter"]']["content"]["Statement"][0]
    assert statement["Condition"]["StringNotEqualsIfExists"]["aws:PrincipalOrgID"] == (
        "o-test123456"
    )


def test_a_synced_organization_plans_nothing_and_reports_only_unmanaged_customer_policies(
    tmp_path: Path,
) -> None:
    from orgkit.plan import plan

    stray = live_policy("p-stray", "stray-backups", "BACKUP_POLICY", BACKUP)
    result = plan(typed_config(tmp_path), typed_live((*SYNCED, stray), ALL_TYPES))
    assert result.changes == ()
    assert [(u.address, u.detail) for u in result.unmanaged] == [
        ('policy["stray-backups"]', "backup policy p-stray not in org.yaml")
    ]


def test_hand_edits_of_each_type_are_planned_back(tmp_path: Path) -> None:
    from orgkit.plan import plan

    edited_tag = json.loads(json.dumps(TAG))
    edited_tag["tags"]["environment"]["tag_value"]["@@assign"] = ["anything"]
    loosened = json.loads(json.dumps(RCP_LIVE))
    loosened["Statement"][0]["Action"] = ["sqs:*"]
    live = typed_live(
        (
            SYNCED[0],
            replace(SYNCED[1], content=json.dumps(loosened)),
            replace(SYNCED[2], content=json.dumps(edited_tag)),
            replace(SYNCED[3], targets=()),  # detached from /Prod
            replace(SYNCED[4], targets=(PROD_OU,)),  # moved from the root to /Prod
            live_policy("p-old", "old-tags", "TAG_POLICY", TAG, APP_ID),
        ),
        ALL_TYPES,
    )
    from orgkit.plan import PlanOptions

    result = plan(typed_config(tmp_path), live, PlanOptions(allow_destroy=True))
    lines = [f"{c.action.symbol} {c.address}" for c in result.changes]
    assert lines == [
        '~ policy["perimeter"]',
        '~ policy["tagging"]',
        '+ policy_attachment["backups" -> "/Prod"]',
        '+ policy_attachment["ai-opt-out" -> "/"]',
        '- policy_attachment["old-tags" -> "app@example.com"]',
        '- policy_attachment["ai-opt-out" -> "/Prod"]',
        '- policy["old-tags"]',
    ]
    tagging = next(c for c in result.changes if c.address == 'policy["tagging"]').to_dict()
    assert tagging["before"]["type"] == tagging["after"]["type"] == "TAG_POLICY"
    assert tagging["after"]["content"] == TAG
    old = next(c for c in result.changes if c.address == 'policy["old-tags"]').to_dict()
    assert old["before"] == {"name": "old-tags", "type": "TAG_POLICY", "id": "p-old"}


def test_a_live_policy_of_the_same_name_and_another_type_is_not_taken_for_it(
    tmp_path: Path,
) -> None:
    from orgkit.plan import plan

    scp_named_tagging = live_policy("p-x", "tagging", "SERVICE_CONTROL_POLICY", SCP, ROOT_ID)
    policies = tuple(p for p in SYNCED if p.name != "tagging") + (scp_named_tagging,)
    result = plan(typed_config(tmp_path), typed_live(policies, ALL_TYPES))
    lines = [f"{c.action.symbol} {c.address}" for c in result.changes]
    assert lines == [
        '+ policy["tagging"]',
        '+ policy_attachment["tagging" -> "/"]',
        '+ policy_attachment["tagging" -> "app@example.com"]',
    ]
    assert [u.detail for u in result.unmanaged] == ["SCP p-x not in org.yaml"]
    [warning] = result.warnings
    assert "declared as a tag policy, but the live policy of that name (p-x) is an SCP" in warning


def test_the_text_views_name_each_policy_type(tmp_path: Path) -> None:
    from rich.console import Console

    from orgkit.plan import plan
    from orgkit.plan.drift import drift
    from orgkit.views.plan_view import print_drift, print_plan

    live = typed_live(SYNCED[:1], ALL_TYPES)
    result = plan(typed_config(tmp_path), live)
    console = Console(record=True, width=200)
    print_plan(console, result)
    text = console.export_text()
    assert "Organization policies\n" in text
    assert '+ policy["deny-all"]' not in text  # in sync
    assert '  + policy["perimeter"]  (RCP)\n      from policies/perimeter.json:' in text
    assert '  + policy["tagging"]  (tag policy)\n' in text
    assert '  + policy["backups"]  (backup policy)\n' in text
    assert '  + policy["ai-opt-out"]  (AI opt-out policy)\n' in text
    assert '  + policy_attachment["backups" -> "/Prod"]  (backup policy)\n' in text

    console = Console(record=True, width=200)
    print_drift(console, drift(result, live))
    text = console.export_text()
    assert '  + policy["tagging"]  (tag policy)\n' in text  # missing: +
    assert '  + policy_attachment["tagging" -> "app@example.com"]  (tag policy)\n' in text


def test_apply_resolves_policies_by_type_and_name() -> None:
    """Ids keys policies by (type, name), so a same-named policy of another type never gets
    attached in its place."""
    live = typed_live(
        (
            live_policy("p-scp", "tagging", "SERVICE_CONTROL_POLICY", SCP),
            live_policy("p-tag", "tagging", "TAG_POLICY", TAG),
        )
    )
    ids = Ids(live)
    assert ids.policies[("TAG_POLICY", "tagging")] == "p-tag"
    assert ids.policies[("SERVICE_CONTROL_POLICY", "tagging")] == "p-scp"
    assert ("RESOURCE_CONTROL_POLICY", "RCPFullAWSAccess") not in ids.policies
