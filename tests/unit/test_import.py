"""orgkit import's decisions, without AWS: what org.yaml can declare of a snapshot, the
environment guess, policy file names, and round-trip editing of org.yaml."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest
from ruamel.yaml.comments import CommentedMap

from orgkit.config.models import Environment
from orgkit.config.yaml_merge import append, load_round_trip
from orgkit.errors import OrgkitError
from orgkit.importer import Declared, environment_for, policy_file, select
from orgkit.live.inventory import Inventory
from orgkit.live.model import LiveAccount, LiveOrg, LiveOU, LivePolicy
from orgkit.quotas import Quotas

REPO = Path(__file__).resolve().parents[2]
ROOT = "r-root"
MANAGEMENT = "123456789012"
DENY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
)


def account(number: int, name: str, email: str, parent: str = ROOT, **tags: str) -> LiveAccount:
    return LiveAccount(f"{number:012d}", name, email, "ACTIVE", parent, tuple(sorted(tags.items())))


def inventory(
    ous: tuple[LiveOU, ...] = (),
    accounts: tuple[LiveAccount, ...] = (),
    policies: tuple[LivePolicy, ...] = (),
) -> Inventory:
    management = LiveAccount(MANAGEMENT, "mgmt", "mgmt@corp-example.com", "ACTIVE", ROOT, ())
    live = LiveOrg(
        "o-abc",
        MANAGEMENT,
        "ALL",
        ROOT,
        ("SERVICE_CONTROL_POLICY",),
        ous,
        (management, *accounts),
        policies,
    )
    return Inventory(live, MANAGEMENT, "us-east-1")


def scp(name: str, *targets: str, content: str = DENY) -> LivePolicy:
    return LivePolicy(f"p-{name}", name, "", False, content, tuple(targets))


def skipped(inv: Inventory, tmp_path: Path) -> dict[str, str]:
    selection = select(inv, Declared(), Quotas(), tmp_path)
    return {n.address: n.message for n in selection.notes if n.kind == "skipped"}


def test_accounts_org_yaml_cannot_name_are_skipped_with_the_reason(tmp_path: Path) -> None:
    inv = inventory(
        accounts=(
            account(1, "app", "one@corp-example.com"),
            account(2, "app", "two@corp-example.com"),  # a second "app"
            account(3, "bad", "three@foo.local"),  # a special-use domain
            account(4, "dup-a", "same@corp-example.com"),
            account(5, "dup-b", "SAME@corp-example.com"),
        )
    )
    notes = skipped(inv, tmp_path)
    assert 'account["one@corp-example.com"]' not in notes
    assert "already named 'app'" in notes['account["two@corp-example.com"]']
    assert "special-use" in notes['account["three@foo.local"]']
    assert "same email" in notes['account["same@corp-example.com"]']
    assert 'account["mgmt@corp-example.com"]' not in notes  # not a member: never declared


def test_a_policy_on_the_management_account_is_not_declared(tmp_path: Path) -> None:
    inv = inventory(
        accounts=(account(1, "app", "app@corp-example.com"),),
        policies=(scp("on-mgmt", ROOT, MANAGEMENT), scp("fine", ROOT, "000000000001")),
    )
    selection = select(inv, Declared(), Quotas(), tmp_path)
    assert [p.name for p in selection.policies] == ["fine"]
    note = next(n for n in selection.notes if n.address == 'policy["on-mgmt"]')
    assert "the management account" in note.message
    assert selection.attach_to_declared == {"/": ["fine"]}
    assert selection.accounts[0].policies == ["fine"]


def test_policies_the_schema_or_grammar_refuses_are_skipped(tmp_path: Path) -> None:
    principal = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Principal": "*"}],
        }
    )
    inv = inventory(
        policies=(
            scp(" padded", ROOT),
            scp("placeholder", ROOT, content=DENY.replace("*", "${OrganizationId}")),
            scp("principal", ROOT, content=principal),
            scp("not-json", ROOT, content="{"),
        )
    )
    notes = skipped(inv, tmp_path)
    assert "spaces" in notes['policy[" padded"]']
    assert "${OrganizationId}" in notes['policy["placeholder"]']
    assert "cannot name a Principal" in notes['policy["principal"]']
    assert "not JSON" in notes['policy["not-json"]']


def test_an_ou_that_cannot_be_named_takes_its_subtree_along(tmp_path: Path) -> None:
    ous = (
        LiveOU("ou-1", "a/b", "/a/b", ROOT),
        LiveOU("ou-2", "Kid", "/a/b/Kid", "ou-1"),
        LiveOU("ou-3", "Fine", "/Fine", ROOT),
    )
    inv = inventory(ous=ous, accounts=(account(1, "in-kid", "kid@corp-example.com", "ou-2"),))
    selection = select(inv, Declared(), Quotas(), tmp_path)
    assert [o.path for o in selection.ous] == ["/Fine"]
    notes = {n.address: n.message for n in selection.notes if n.kind == "skipped"}
    assert "holds '/'" in notes['ou["/a/b"]']
    assert 'ou["/a/b/Kid"]' not in notes  # said once, with its subtree
    assert "1 OU(s) and 1 account(s) inside" in notes['ou["/a/b"]']
    assert "is not declared" in notes['account["kid@corp-example.com"]']


@pytest.mark.parametrize(
    ("tags", "ou", "expected", "guessed"),
    [
        ({"Environment": "prod"}, "/Workloads", Environment.PROD, False),
        ({"env": "Production"}, "/", Environment.PROD, True),
        ({}, "/Workloads/Staging/Apps", Environment.STAGING, True),
        ({}, "/Security", Environment.SECURITY, True),
        ({"Environment": "weird"}, "/Dev", Environment.DEV, True),
        ({}, "/Workloads", Environment.SHARED, True),
    ],
)
def test_environment_from_tag_then_ou_then_default(
    tags: dict[str, str], ou: str, expected: Environment, guessed: bool
) -> None:
    env, reason = environment_for(account(1, "a", "a@corp-example.com", **tags), ou)
    assert env is expected
    assert (reason is not None) is guessed


def test_environment_tag_is_not_repeated_in_tags(tmp_path: Path) -> None:
    inv = inventory(accounts=(account(1, "a", "a@corp-example.com", Environment="dev", Team="x"),))
    imported = select(inv, Declared(), Quotas(), tmp_path).accounts[0]
    assert imported.environment is Environment.DEV
    assert imported.tags == {"Team": "x"}


def test_policy_files_are_named_after_the_policy_and_never_reuse_a_name() -> None:
    taken = {"scps/deny.json"}
    assert policy_file(scp("deny"), taken) == "scps/deny-2.json"
    assert policy_file(scp("Deny all / the rest"), taken) == "scps/Deny-all-the-rest.json"
    tag = LivePolicy("p-t", "tags", "", False, "{}", (), "TAG_POLICY")
    assert policy_file(tag, taken) == "policies/tags.json"


def test_the_seed_org_yaml_round_trips_and_appending_only_adds_lines() -> None:
    text = (REPO / "org.yaml").read_text()
    trip = load_round_trip(text, "org.yaml")
    assert trip.text() == text
    append(trip.document, "policies", CommentedMap(name="new", file="scps/new.json"))
    append(trip.document["organization"], "policies", "new")
    diff = list(difflib.ndiff(text.splitlines(True), trip.text().splitlines(True)))
    assert [line for line in diff if line.startswith("- ")] == []
    assert "".join(line[2:] for line in diff if line.startswith("+ ")) == (
        "    - new\n  - name: new\n    file: scps/new.json\n"
    )


def test_a_file_the_round_trip_would_reformat_is_refused() -> None:
    text = "version: 1\norganization:\n     name: odd\n     management_account_id: '1'\n"
    with pytest.raises(OrgkitError, match="would reformat"):
        load_round_trip(text, "org.yaml")


def test_a_name_with_a_newline_cannot_write_yaml() -> None:
    """A live OU named "Team\\nstackset_roles: {...}\\n#" must not become org.yaml lines: the name
    is refused (org.yaml's schema refuses control characters too) and comments are one line."""
    from pydantic import TypeAdapter, ValidationError

    from orgkit.config.models import Name, OUName
    from orgkit.importer import name_problem, one_line

    evil = "Team\nstackset_roles: {execution_role: Pwn}\n#"
    problem = name_problem(evil, "name", 128)
    assert problem is not None and "control characters" in problem
    assert "\n" not in one_line(f"guessed from its OU /{evil}/Prod")
    for model in (Name, OUName):
        with pytest.raises(ValidationError):
            TypeAdapter(model).validate_python(evil)
        assert TypeAdapter(model).validate_python("Team Prod") == "Team Prod"
