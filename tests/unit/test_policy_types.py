"""Policies of every Organizations type: each type's grammar and size quota, checked before any
AWS call with file, line and field; the organization id placeholder; (the EnablePolicyType wait: see
kinds).

The failing cases that need files live in ``bad/`` (``rcp-*``, ``tag-policy-*``,
``backup-policy-*``, ``ai-opt-out-policy-*``, ``policy-name-unique-across-types``,
``policies-per-target-per-type``); this module covers what a table says better.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from orgkit.config.loader import load_config
from orgkit.config.policies import LONGEST_ORGANIZATION_ID, fill_ids
from orgkit.errors import ConfigError
from orgkit.names import POLICY_TYPES
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
        ("service_control", 5_120),
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
    assert (Path(issue.file).name, issue.line, issue.field) == ("org.yaml", 4, "policies[0].file")
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
    assert (issue.line, issue.field) == (4, "policies[0].file")
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


def test_documents_cover_every_type() -> None:
    assert [t.name for t in POLICY_TYPES] == list(DOCUMENTS)
