"""`orgkit graph` and `orgkit costs` on the sandbox: exit codes, --json, --mermaid, what is read,
and the sandbox's "no spend data"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner, Result

from orgkit.cli.main import cli
from orgkit.sandbox.server import Sandbox
from tests.helpers import converge, edit_yaml, is_write, structure_only
from tests.mermaid_check import mermaid_problems


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


@pytest.fixture
def structure(seed_dir: Path) -> Path:
    """The seed without what is read and written per account (fast to apply)."""
    config = seed_dir / "org.yaml"

    def keep_budgets(data: dict) -> None:
        budgets = data["budgets"]
        structure_only(data)
        data["budgets"] = budgets  # graph and costs read no budgets: only the amounts

    edit_yaml(config, keep_budgets)
    return config


def accounts_of(document: dict) -> dict[str, dict]:
    def walk(ou: dict) -> list[dict]:
        return ou["accounts"] + [a for child in ou["ous"] for a in walk(child)]

    return {a["email"]: a for a in walk(document["root"])}


def test_graph_before_apply_says_what_is_not_created_yet(
    sandbox: Sandbox, structure: Path, aws_calls: list[str]
) -> None:
    result = run(structure, "graph", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["root"]["id"].startswith("r-")
    assert {ou["state"] for ou in document["root"]["ous"]} == {"missing"}
    accounts = accounts_of(document)
    assert accounts["themisguard-prod@delatsi-llc.com"]["state"] == "missing"
    assert accounts["themisguard-prod@delatsi-llc.com"]["budget"] == 500
    assert [a["state"] for a in accounts.values() if a["id"] == "123456789012"] == ["management"]
    assert not [c for c in aws_calls if is_write(c.split(".", 1)[1])]


def test_graph_after_apply_with_unmanaged_resources(
    sandbox: Sandbox, structure: Path, aws_calls: list[str]
) -> None:
    converge(structure)
    org = sandbox.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    hand = org.create_organizational_unit(ParentId=root, Name='Hand "made" [x]')
    account = org.create_account(AccountName="Stray", Email="stray@delatsi-llc.com")
    stray = account["CreateAccountStatus"]["AccountId"]
    org.move_account(
        AccountId=stray, SourceParentId=root, DestinationParentId=hand["OrganizationalUnit"]["Id"]
    )
    aws_calls.clear()

    result = run(structure, "graph", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    accounts = accounts_of(document)
    assert accounts["stray@delatsi-llc.com"]["state"] == "unmanaged"
    managed = [
        a
        for e, a in accounts.items()
        if e.endswith("@delatsi-llc.com") and e != "stray@delatsi-llc.com"
    ]
    assert len(managed) == 10
    assert {(a["state"], len(a["id"])) for a in managed} == {("managed", 12)}
    unmanaged_ous = [o for o in document["root"]["ous"] if o["state"] == "unmanaged"]
    assert [o["name"] for o in unmanaged_ous] == ['Hand "made" [x]']
    assert [a["email"] for a in unmanaged_ous[0]["accounts"]] == ["stray@delatsi-llc.com"]
    attached = {p["name"]: p["state"] for p in document["root"]["policies"]}
    assert set(attached.values()) == {"attached"} and "restrict-regions" in attached
    # The structure only: no per-account call (tags, roles, budgets), no write.
    operations = {c.split(".", 1)[1] for c in aws_calls}
    assert not operations & {"ListTagsForResource", "AssumeRole", "DescribeBudgets"}
    assert not [op for op in operations if is_write(op)]

    mermaid = run(structure, "graph", "--mermaid")
    assert mermaid.exit_code == 0
    assert mermaid_problems(mermaid.stdout) == []
    assert "#34;made#34; #91;x#93;" in mermaid.stdout
    assert "class OU_hand_made_x,Acct_stray_delatsi_llc_com unmanaged" in mermaid.stdout

    tree = run(structure, "graph")
    assert tree.exit_code == 0
    assert "ThemisGuard Production  themisguard-prod@delatsi-llc.com  " in tree.stdout
    assert "unmanaged (not in org.yaml)" in tree.stdout


def test_graph_offline_needs_no_aws(structure: Path, aws_calls: list[str]) -> None:
    result = run(structure, "graph", "--offline", "--mermaid")
    assert result.exit_code == 0, result.output
    assert mermaid_problems(result.stdout) == []
    assert aws_calls == []


def test_graph_refuses_two_formats_and_a_wrong_organization(
    sandbox: Sandbox, structure: Path
) -> None:
    both = run(structure, "graph", "--json", "--mermaid")
    assert both.exit_code == 1
    assert "choose one" in both.stderr
    edit_yaml(structure, lambda d: d["organization"].update(management_account_id="999999999999"))
    wrong = run(structure, "graph")
    assert wrong.exit_code == 1
    assert "error:" in wrong.stderr and "Traceback" not in wrong.output


def test_costs_in_the_sandbox_say_no_spend_data(sandbox: Sandbox, structure: Path) -> None:
    converge(structure)
    result = run(structure, "costs", "--monthly-revenue", "5000")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "No spend data: Cost Explorer: User not enabled for cost explorer access."
    )
    assert "Actual" not in result.stdout and " 0 USD" not in result.stdout
    assert "│ prod        │ 1        │ 500 USD │ 200 USD │ budget above target by 300 USD │" in (
        result.stdout
    )
    assert "budgets 30.0% (org.yaml's maximum: 20%)  above the maximum" in result.stdout

    as_json = run(structure, "costs", "--json")
    assert as_json.exit_code == 0
    document = json.loads(as_json.stdout)
    assert document["spend"]["available"] is False
    assert document["spend"]["reason"] == (
        "Cost Explorer: User not enabled for cost explorer access"
    )
    assert {a["actual"] for a in document["accounts"]} == {None}
    assert {len(a["account_id"]) for a in document["accounts"]} == {12}
    environments = {e["name"]: e for e in document["environments"]}
    assert (environments["dev"]["budget"], environments["dev"]["target"]) == (100, 75)
    assert environments["dev"]["above_target"] is True
    assert document["total"]["budget"] == 1500
    assert document["revenue"] is None


def test_costs_offline_and_bad_arguments(structure: Path, aws_calls: list[str]) -> None:
    offline = run(structure, "costs", "--offline", "--json", "--monthly-revenue", "7500")
    assert offline.exit_code == 0, offline.output
    document = json.loads(offline.stdout)
    assert document["spend"]["reason"] == "offline: Cost Explorer was not asked"
    assert document["revenue"]["budget_share"] == 20.0
    assert document["revenue"]["over"] is False
    assert aws_calls == []
    for bad in ("0", "-5", "lots"):
        refused = run(structure, "costs", "--offline", "--monthly-revenue", bad)
        assert refused.exit_code == 1
        assert "--monthly-revenue" in refused.stderr


def test_the_sandbox_answers_cost_explorer_as_aws_does_without_it(sandbox: Sandbox) -> None:
    ce = sandbox.client("ce")
    period = {"Start": "2026-05-01", "End": "2026-05-02"}
    calls = [
        lambda: ce.get_cost_and_usage(
            TimePeriod=period, Granularity="MONTHLY", Metrics=["UnblendedCost"]
        ),
        lambda: ce.get_cost_forecast(
            TimePeriod=period, Metric="UNBLENDED_COST", Granularity="MONTHLY"
        ),
    ]
    for call in calls:
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
