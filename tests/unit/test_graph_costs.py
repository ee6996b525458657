"""`orgkit graph` and `orgkit costs` views, from an org.yaml model and a hand-made live snapshot."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from orgkit import overview
from orgkit.config.models import OrgSpec
from orgkit.live.costs import AccountSpend, LiveCosts, unavailable
from orgkit.live.model import LiveAccount, LiveOrg, LiveOU, LivePolicy, PendingAccount
from orgkit.names import SCP, TAG_POLICY
from orgkit.picture import build_costs, build_graph
from orgkit.views.cost_view import print_costs
from orgkit.views.graph_view import graph_mermaid, graph_tree, mermaid_text
from tests.mermaid_check import mermaid_problems

REPO = Path(__file__).resolve().parents[2]
MANAGEMENT = "123456789012"


def spec(**changes: Any) -> OrgSpec:
    data: dict[str, Any] = {
        "organization": {
            "name": 'ACME "Labs" [EU]',
            "management_account_id": MANAGEMENT,
            "policies": ["deny-root-user", "restrict-regions"],
        },
        "policies": [
            {"name": "deny-root-user", "file": "scps/a.json"},
            {"name": "restrict-regions", "file": "scps/b.json"},
            {"name": "tagging", "type": "tag", "file": "policies/t.json"},
        ],
        "ous": [
            {"name": "Security", "policies": ["tagging"]},
            {"name": "Production"},
        ],
        "projects": [{"name": "shop"}],
        "budgets": {
            "amounts": {"dev": 100, "prod": 500, "security": 50},
            "targets": {"dev": 75, "prod": 200},
            "max_revenue_share": 20,
        },
        "accounts": [
            {
                "name": "Audit",
                "email": "Audit@acme-labs.com",
                "ou": "/Security",
                "environment": "security",
            },
            {
                "name": "Shop <Prod>",
                "email": "shop-prod@acme-labs.com",
                "ou": "/Production",
                "environment": "prod",
                "project": "shop",
                "budget": 150,
            },
            {
                "name": "Shop Dev",
                "email": "shop-dev@acme-labs.com",
                "ou": "/Production",
                "environment": "dev",
                "project": "shop",
                "policies": ["restrict-regions"],
            },
            {
                "name": "Shop Staging",
                "email": "shop-staging@acme-labs.com",
                "ou": "/Production",
                "environment": "dev",
                "project": "shop",
            },
        ],
    }
    data.update(changes)
    return OrgSpec.model_validate(data)


def live_org() -> LiveOrg:
    """Audit live (in the wrong OU), Shop <Prod> live, Shop Dev being created, Shop Staging not
    there; an unmanaged OU with an unmanaged account; restrict-regions not attached to the root;
    a hand-made SCP on /Production."""
    return LiveOrg(
        organization_id="o-abc",
        management_account_id=MANAGEMENT,
        feature_set="ALL",
        root_id="r-1",
        policy_types=(SCP, TAG_POLICY),
        ous=(
            LiveOU("ou-sec", "Security", "/Security", "r-1"),
            LiveOU("ou-prod", "Production", "/Production", "r-1"),
            LiveOU("ou-old", "Legacy", "/Legacy", "r-1"),
        ),
        accounts=(
            LiveAccount(MANAGEMENT, "root-account", "owner@acme-labs.com", "ACTIVE", "r-1"),
            LiveAccount("111111111111", "Audit", "audit@acme-labs.com", "ACTIVE", "ou-prod"),
            LiveAccount(
                "222222222222", "Shop <Prod>", "shop-prod@acme-labs.com", "ACTIVE", "ou-prod"
            ),
            LiveAccount("333333333333", "Old", "old@acme-labs.com", "SUSPENDED", "ou-old"),
        ),
        policies=(
            LivePolicy("p-full", "FullAWSAccess", "", True, targets=("r-1",)),
            LivePolicy("p-1", "deny-root-user", "", False, targets=("r-1",)),
            LivePolicy("p-2", "restrict-regions", "", False, targets=()),
            LivePolicy("p-3", "hand-made", "", False, targets=("ou-prod",)),
            LivePolicy("p-4", "tagging", "", False, targets=("ou-sec",), type=TAG_POLICY),
        ),
        pending_accounts=(PendingAccount("car-1", "Shop Dev"),),
    )


def text_of(renderable: Any) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(renderable)
    return console.export_text()


# -- graph ----------------------------------------------------------------------------------
def test_graph_fills_in_live_ids_and_says_what_is_missing_or_unmanaged() -> None:
    graph = build_graph(spec(), live_org())
    root = graph.root
    assert (root.id, root.state) == ("r-1", "managed")
    assert [(p.name, p.state) for p in root.policies] == [
        ("deny-root-user", "attached"),
        ("restrict-regions", "missing"),
    ]
    assert [(o.path, o.id, o.state) for o in root.ous] == [
        ("/Security", "ou-sec", "managed"),
        ("/Production", "ou-prod", "managed"),
        ("/Legacy", "ou-old", "unmanaged"),
    ]
    security, production, legacy = root.ous
    assert [(p.name, p.label, p.state) for p in security.policies] == [
        ("tagging", "tag policy", "attached")
    ]
    assert [(p.name, p.state) for p in production.policies] == [("hand-made", "unmanaged")]
    audit = security.accounts[0]
    assert (audit.id, audit.state, audit.budget) == ("111111111111", "managed", 50)
    assert audit.note == "live in /Production; apply moves it"
    assert [(a.name, a.id, a.state, a.budget) for a in production.accounts] == [
        ("Shop <Prod>", "222222222222", "managed", 150),  # its own budget
        ("Shop Dev", None, "creating", 100),  # the environment's
        ("Shop Staging", None, "missing", 100),
    ]
    assert [(a.id, a.state, a.note) for a in legacy.accounts] == [
        ("333333333333", "unmanaged", "status SUSPENDED")
    ]
    assert [(a.id, a.state) for a in root.accounts] == [(MANAGEMENT, "management")]


def test_a_declared_policy_on_an_account_not_created_yet_is_not_attached_yet() -> None:
    shop_dev = build_graph(spec(), live_org()).root.ous[1].accounts[1]
    assert [(p.name, p.state) for p in shop_dev.policies] == [("restrict-regions", "missing")]


def test_offline_graph_draws_org_yaml_alone() -> None:
    graph = build_graph(spec(), None)
    assert graph.offline
    assert {o.state for o in graph.root.walk()} == {"declared"}
    assert [o.path for o in graph.root.walk()] == ["/", "/Security", "/Production"]
    accounts = [a for o in graph.root.walk() for a in o.accounts]
    assert {(a.id, a.state) for a in accounts} == {(None, "declared")}
    assert {p.state for a in accounts for p in a.policies} == {"declared"}


def test_tree_shows_every_account_with_its_details() -> None:
    text = text_of(graph_tree(build_graph(spec(), live_org())))
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[0] == 'ACME "Labs" [EU]  root r-1'
    assert lines[1] == "SCP: deny-root-user, restrict-regions (not attached yet)"
    assert (
        "│   └── Audit  audit@acme-labs.com  111111111111  (live in /Production; apply moves it)"
        in lines
    )
    assert "│   │   prod · project shop · budget 150 USD/month" in lines
    assert "│   ├── Shop Dev  shop-dev@acme-labs.com  being created" in lines
    assert "│   └── Shop Staging  shop-staging@acme-labs.com  not created yet" in lines
    assert "│   SCP: hand-made (unmanaged)" in lines
    assert "├── Legacy/  ou-old  unmanaged (not in org.yaml)" in lines
    assert "└── root-account  owner@acme-labs.com  123456789012  management account" in lines


def test_mermaid_of_a_live_org_is_sound_and_exact() -> None:
    text = graph_mermaid(build_graph(spec(), live_org()))
    assert mermaid_problems(text) == []
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert lines[1] == (
        '    Root["ACME #34;Labs#34; #91;EU#93;<br/>root r-1<br/>'
        'SCP: deny-root-user, restrict-regions (not attached yet)"]'
    )
    assert (
        '    Acct_shop_prod_acme_labs_com("Shop #60;Prod#62;<br/>shop-prod@acme-labs.com<br/>'
        '222222222222<br/>prod - project shop - budget 150 USD/month")' in lines
    )
    assert "    OU_production --> Acct_shop_dev_acme_labs_com" in lines
    assert "    Root --> OU_legacy" in lines
    assert "    class OU_legacy,Acct_old_acme_labs_com unmanaged" in lines
    assert "    class Acct_shop_dev_acme_labs_com creating" in lines
    assert "    class Acct_shop_staging_acme_labs_com missing" in lines


def test_mermaid_ids_do_not_depend_on_order_and_never_collide() -> None:
    first = spec()
    shuffled = spec(accounts=list(reversed([a.model_dump() for a in first.accounts])))
    ids = re.compile(r"^    (\w+)[\[(]", re.M)
    assert sorted(ids.findall(graph_mermaid(build_graph(first, None)))) == sorted(
        ids.findall(graph_mermaid(build_graph(shuffled, None)))
    )
    # Two emails that make the same slug get two ids.
    twins = spec(
        accounts=[
            {
                "name": "A",
                "email": "a.b@acme-labs.com",
                "ou": "/Security",
                "environment": "security",
            },
            {
                "name": "B",
                "email": "a-b@acme-labs.com",
                "ou": "/Security",
                "environment": "security",
            },
        ]
    )
    text = graph_mermaid(build_graph(twins, None))
    assert mermaid_problems(text) == []
    assert len(set(ids.findall(text))) == 5  # root, 2 OUs, 2 accounts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('say "hi"', "say #34;hi#34;"),
        ("a[b]{c}", "a#91;b#93;#123;c#125;"),
        ("x|y;z", "x#124;y#59;z"),
        ("<br/> #1; `q`", "#60;br/#62; #35;1#59; #96;q#96;"),
        ("Café · ok (1)", "Caf#233; #183; ok (1)"),
    ],
)
def test_mermaid_labels_are_escaped(text: str, expected: str) -> None:
    assert mermaid_text(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('flowchart LR\n    A["a"]\n    A["b"]\n', "node A defined 2 times"),
        ('flowchart LR\n    A["a"]\n    A --> B\n', "edge A --> B: B undefined"),
        ('flowchart LR\n    A["say "hi""]\n', "not a node, edge or class line"),
        ('flowchart LR\n    A["a[1]"]\n', "unescaped character"),
        ('flowchart LR\n    A["a")\n', "[ closed by )"),
        ('graph\n    A["a"]\n', "not a flowchart header"),
        ('flowchart LR\n    A["a"]\n    class A gone\n', "class gone used before classDef"),
    ],
)
def test_the_mermaid_check_catches_broken_charts(text: str, problem: str) -> None:
    assert any(problem in found for found in mermaid_problems(text)), mermaid_problems(text)


def test_seed_mermaid_parses_with_mermaid_js() -> None:
    """Mermaid's own parser, when node and an install of mermaid and jsdom are at hand
    (ORGKIT_MERMAID_MODULES=<folder holding node_modules>); the strict check above always runs."""
    folder = os.environ.get("ORGKIT_MERMAID_MODULES")
    if not folder or not shutil.which("node"):
        pytest.skip("set ORGKIT_MERMAID_MODULES to a folder with mermaid and jsdom installed")
    script = (
        "import {JSDOM} from 'jsdom'; const d = new JSDOM('');"
        "globalThis.window = d.window; globalThis.document = d.window.document;"
        "const m = (await import('mermaid')).default; let t = '';"
        "for await (const c of process.stdin) t += c;"
        "await m.parse(t); console.log('ok');"
    )
    text = graph_mermaid(overview.graph(REPO / "org.yaml", None))
    live = graph_mermaid(build_graph(spec(), live_org()))
    for chart in (text, live):
        done = subprocess.run(
            ["node", "--input-type=module", "-e", script],
            input=chart,
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.stdout.strip() == "ok", done.stderr


def test_graph_json_is_the_whole_tree() -> None:
    document = json.loads(json.dumps(build_graph(spec(), live_org()).to_dict()))
    assert set(document) == {"organization", "management_account_id", "offline", "currency", "root"}
    assert document["root"]["ous"][1]["accounts"][0] == {
        "name": "Shop <Prod>",
        "email": "shop-prod@acme-labs.com",
        "id": "222222222222",
        "state": "managed",
        "environment": "prod",
        "project": "shop",
        "budget": 150.0,
        "policies": [],
        "note": "",
    }


def test_the_seed_picture_in_the_docs_is_current() -> None:
    """docs/graph-and-costs.md embeds `orgkit graph --offline --mermaid` of the seed."""
    doc = (REPO / "docs" / "graph-and-costs.md").read_text()
    embedded = re.search(r"```mermaid\n(.*?)```", doc, re.S)
    assert embedded is not None
    current = graph_mermaid(overview.graph(REPO / "org.yaml", None))
    assert embedded.group(1) == current, (
        "stale: regenerate with `orgkit graph --offline --mermaid` and paste it into "
        "docs/graph-and-costs.md"
    )


# -- costs ----------------------------------------------------------------------------------
def spend() -> LiveCosts:
    return LiveCosts(
        True,
        "",
        "USD",
        date(2026, 5, 1),
        date(2026, 5, 20),
        (
            AccountSpend("111111111111", 20.0, 35.5),
            AccountSpend("222222222222", 120.0, 190.0),
            AccountSpend(MANAGEMENT, 3.25, None, "no forecast: too little history"),
        ),
    )


def test_costs_sum_budgets_and_spend_per_environment_and_project() -> None:
    report = build_costs(spec(), live_org().accounts, spend(), monthly_revenue=1000)
    rows = {
        g.name: (g.accounts, g.budget, g.target, g.actual, g.forecast) for g in report.environments
    }
    assert rows == {
        "dev": (2, 200.0, 150.0, None, None),  # not created: no spend, no forecast
        "prod": (1, 150.0, 200.0, 120.0, 190.0),
        "security": (1, 50.0, None, 20.0, 35.5),
        "(not in org.yaml)": (1, None, None, 3.25, 3.25),  # no forecast: the actual counts
    }
    assert list(rows) == ["dev", "prod", "security", "(not in org.yaml)"]
    by_env = {g.name: g for g in report.environments}
    assert by_env["dev"].above_target and not by_env["prod"].above_target
    assert by_env["prod"].over_budget  # 190 forecast > 150 budget
    projects = {g.name: (g.accounts, g.budget, g.target) for g in report.projects}
    assert projects == {
        "shop": (3, 350.0, 350.0),
        "(no project)": (1, 50.0, None),
        "(not in org.yaml)": (1, None, None),
    }
    assert (report.total.budget, report.total.actual, report.total.forecast) == (
        400.0,
        143.25,
        228.75,
    )
    assert report.revenue is not None
    assert report.revenue.budget_share == 40.0
    assert report.revenue.forecast_share == pytest.approx(22.875)
    assert report.revenue.max_share == 20
    assert report.revenue.over  # the forecast's share decides


def test_without_a_forecast_the_budgets_share_decides() -> None:
    report = build_costs(spec(), None, None, offline_reason="offline", monthly_revenue=2000)
    assert report.revenue is not None
    assert (report.revenue.budget_share, report.revenue.forecast_share) == (20.0, None)
    assert not report.revenue.over  # 20% is not above 20%
    report = build_costs(spec(), None, None, offline_reason="offline", monthly_revenue=1999)
    assert report.revenue is not None and report.revenue.over


def test_costs_without_spend_data_show_budgets_only_and_say_why() -> None:
    report = build_costs(
        spec(),
        live_org().accounts,
        unavailable("Cost Explorer: User not enabled for cost explorer access", date(2026, 5, 2)),
    )
    assert not report.spend.available
    assert {line.actual for line in report.accounts} == {None}
    assert len(report.accounts) == 4  # nothing added from Cost Explorer
    text = text_of_costs(report)
    assert text.startswith(
        "No spend data: Cost Explorer: User not enabled for cost explorer access. "
        "Showing budgets and targets only."
    )
    assert "Actual" not in text and "Forecast" not in text
    assert "│ dev         │ 2        │ 200 USD │ 150 USD │ budget above target by 50 USD │" in text
    document = report.to_dict()
    assert document["spend"] == {
        "available": False,
        "reason": "Cost Explorer: User not enabled for cost explorer access",
        "month_start": "2026-05-01",
        "today": "2026-05-02",
    }


def test_costs_view_with_spend_data() -> None:
    text = text_of_costs(build_costs(spec(), live_org().accounts, spend(), monthly_revenue=2000))
    assert text.startswith(
        "Spend from Cost Explorer: actual for 2026-05-01 up to (not including) 2026-05-20; "
        "forecast for the whole month."
    )
    assert (
        "│ prod              │ 1        │ 150 USD │ 200 USD │       120 USD │   190 USD │ "
        "spend over budget             │" in text
    )
    assert (
        "Total: 5 accounts, budgets 400 USD, actual so far 143.25 USD, forecast 228.75 USD." in text
    )
    assert (
        "Share of monthly revenue 2,000 USD: budgets 20.0%, forecast 11.4% "
        "(org.yaml's maximum: 20%)\n" in text
    )


def test_costs_json_shape() -> None:
    document = json.loads(
        json.dumps(build_costs(spec(), None, None, offline_reason="offline").to_dict())
    )
    assert set(document) == {
        "organization",
        "currency",
        "spend",
        "accounts",
        "environments",
        "projects",
        "total",
        "revenue",
    }
    assert set(document["accounts"][0]) == {
        "name",
        "email",
        "account_id",
        "environment",
        "project",
        "budget",
        "target",
        "actual",
        "forecast",
        "note",
        "above_target",
        "over_budget",
    }
    assert set(document["total"]) == {
        "name",
        "accounts",
        "budget",
        "target",
        "actual",
        "forecast",
        "above_target",
        "over_budget",
    }
    assert document["revenue"] is None
    assert document["spend"]["reason"] == "offline"


def text_of_costs(report: Any) -> str:
    console = Console(record=True, width=200, color_system=None)
    print_costs(console, report)
    return console.export_text()
