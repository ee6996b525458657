"""The registry of resource kinds: every kind complete, discovery strict, layers one-way."""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest

from orgkit.changes import Action
from orgkit.config.loader import load_config
from orgkit.kinds import REGISTRY, change_from_dict, discover, kind_of
from orgkit.kinds.base import FLAG_OPTIONS, missing_parts
from orgkit.live.model import LiveOrg
from orgkit.plan import PlanOptions, plan
from orgkit.views.plan_view import print_plan

REPO = Path(__file__).resolve().parents[2]
# The kinds the seed org.yaml uses: planning it against an empty organization creates each.
SEED_KINDS = {
    "policy_type",
    "ou",
    "policy",
    "policy_attachment",
    "account",
    "deployment_role",
    "budget",
    "stack_set",
    "stack_instance",
    "trusted_access",
    "delegated_admin",
    "security_service",
    "trail",
}
EXPECTED = set(SEED_KINDS)  # every registered kind: a new kind is added here


def test_every_kind_is_registered_and_complete() -> None:
    assert set(REGISTRY) == EXPECTED
    for name, kind in REGISTRY.items():
        assert kind.kind == name
        assert missing_parts(kind) == [], name
        assert kind.heading and kind.destroy_flag in FLAG_OPTIONS


def test_every_kind_module_is_in_the_registry() -> None:
    modules = {
        p.stem
        for p in (REPO / "orgkit" / "kinds").glob("*.py")
        if p.stem not in ("__init__", "base")
    }
    declared = {
        sys.modules[type(kind).__module__].__name__.rsplit(".", 1)[1] for kind in REGISTRY.values()
    }
    assert modules == declared


def test_headings_are_shown_in_order_and_unique() -> None:
    headings = [k.heading for k in REGISTRY.values()]
    assert len(set(headings)) == len(headings)
    assert [k.order for k in REGISTRY.values()] == sorted(k.order for k in REGISTRY.values())


def empty_live() -> LiveOrg:
    # Read and found empty: no trusted service, administrator, security service set-up or trail.
    nothing = {
        "trusted_access": (),
        "delegated_admin": (),
        "security_service": (),
        "trail": {"trail": None, "outputs": {}},
    }
    return LiveOrg("o-abc", "123456789012", "ALL", "r-root", (), (), (), (), resources=nothing)


def test_each_kind_plans_describes_and_round_trips_its_changes() -> None:
    """The seed org against an empty organization creates one of every kind: each change is
    described, becomes a finding, and survives JSON through its kind's models."""
    config = load_config(REPO / "org.yaml")
    result = plan(config, empty_live())
    seen = {c.kind for c in result.changes}
    # The seed declares one of every kind it uses; a kind the seed does not use is covered by
    # its own module's tests.
    assert SEED_KINDS <= seen <= EXPECTED
    for change in result.changes:
        kind = kind_of(change.kind)
        assert all(isinstance(line, str) for line in kind.describe(change))
        finding = kind.finding(change)
        assert (finding.issue, finding.kind) == ("missing", change.kind)
        assert change_from_dict(change.to_dict()) == change


def test_destructive_is_decided_by_the_kind() -> None:
    config = load_config(REPO / "org.yaml")
    [change] = [c for c in plan(config, empty_live()).changes if c.kind == "ou"][:1]
    data = change.to_dict()
    data["destructive"] = True
    assert change_from_dict(data).destructive is False


def write_package(root: Path, name: str, modules: dict[str, str]) -> None:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    for module, text in modules.items():
        (package / f"{module}.py").write_text(textwrap.dedent(text))


TOY = """\
    from orgkit.changes import Action, Side
    from orgkit.kinds.base import ResourceKind, one_at_a_time


    class Toy(Side):
        name: str


    class ToyKind(ResourceKind):
        kind = "toy"
        heading = "Toys"
        order = 99
        destroy_rank = 9
        destroy_flag = "allow_destroy"
        models = {Action.CREATE: (None, Toy)}

        def read(self, ctx, live):
            return live

        def plan(self, ctx):
            from orgkit.kinds.base import PlanPart
            return PlanPart()

        @property
        def handlers(self):
            return {Action.CREATE: one_at_a_time(lambda ctx, change: "made")}
    %s

    KIND = ToyKind()
    """
DESCRIBE = """
        def describe(self, change):
            return []
"""


@pytest.mark.parametrize(
    ("modules", "error"),
    [
        ({"toy": TOY % ""}, "abstract"),
        ({"toy": "X = 1\n"}, "defines no KIND"),
        ({"toy": TOY.replace('"allow_destroy"', '"allow_anything"') % DESCRIBE}, "destroy_flag"),
        (
            {
                "toy": TOY.replace(
                    "{Action.CREATE: (None, Toy)}",
                    "{Action.CREATE: (None, Toy), Action.DELETE: (Toy, None)}",
                )
                % DESCRIBE
            },
            "handlers for ['create'] but models for ['create', 'delete']",
        ),
        ({"toy": TOY % DESCRIBE, "toy2": TOY % DESCRIBE}, "two modules declare the kind"),
    ],
    ids=["no-describe", "no-kind", "bad-flag", "missing-handler", "duplicate"],
)
def test_discovery_refuses_an_incomplete_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, modules: dict[str, str], error: str
) -> None:
    name = f"toykinds_{abs(hash(error))}"
    write_package(tmp_path, name, modules)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        (ImportError, TypeError), match=error.replace("[", r"\[").replace("]", r"\]")
    ):
        discover(name, [str(tmp_path / name)])


def test_a_complete_toy_kind_is_planned_applied_and_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What adding a kind takes: one module. Its changes reach the plan and the view."""
    write_package(
        tmp_path,
        "toykinds_ok",
        {
            "toy": TOY.replace(
                "return PlanPart()",
                "from orgkit.changes import Change\n"
                "            return PlanPart(changes=[Change('toy[\"a\"]', 'toy',"
                " Action.CREATE, None, Toy(name='a'))])",
            )
            % DESCRIBE
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    toys = discover("toykinds_ok", [str(tmp_path / "toykinds_ok")])
    monkeypatch.setattr("orgkit.kinds.REGISTRY", {**REGISTRY, **toys})
    monkeypatch.setattr("orgkit.plan.planner.REGISTRY", {**REGISTRY, **toys})
    monkeypatch.setattr("orgkit.views.plan_view.REGISTRY", {**REGISTRY, **toys})
    config = load_config(REPO / "org.yaml")
    result = plan(config, empty_live(), PlanOptions())
    assert result.changes[-1].address == 'toy["a"]'
    from rich.console import Console

    console = Console(record=True, width=200)
    print_plan(console, result)
    assert 'Toys\n  + toy["a"]' in console.export_text()


# -- architecture ---------------------------------------------------------------------------
def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "orgkit"


def modules() -> dict[str, Path]:
    return {
        ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): p
        for p in (REPO / "orgkit").rglob("*.py")
    }


def test_packages_import_in_one_direction() -> None:
    """No import cycle between orgkit's packages (config <-> render, cli.main <-> cli.sandbox
    were the old ones)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules().items():
        for target in imports(path):
            if target.startswith("orgkit.") and layer(target) != layer(name):
                graph.setdefault(layer(name), set()).add(layer(target))

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted(node for node in graph if reaches(node, node, set()))
    assert cycles == [], graph


def test_cli_modules_do_not_import_each_other_both_ways() -> None:
    cli = {n: imports(p) for n, p in modules().items() if n.startswith("orgkit.cli.")}
    for a, deps in cli.items():
        for b in deps & set(cli):
            assert a not in cli[b], f"{a} <-> {b}"


BOTO_ALLOWED = (
    "orgkit.live",
    "orgkit.kinds",
    "orgkit.apply",
    "orgkit.sandbox",
    "orgkit.cli.common",
)


def test_boto_only_where_aws_is_read_or_written() -> None:
    for name, path in modules().items():
        aws = {m for m in imports(path) if m.split(".")[0] in ("boto3", "botocore")}
        if aws:
            assert name.startswith(BOTO_ALLOWED), f"{name} imports {sorted(aws)}"


def test_planning_never_touches_aws() -> None:
    """plan/, config/, render/ and views/ import no AWS SDK, directly."""
    pure = [n for n in modules() if layer(n) in ("plan", "config", "render", "views")]
    assert pure
    for name in pure:
        assert not {
            m for m in imports(modules()[name]) if m.split(".")[0] in ("boto3", "botocore")
        }, name


def test_actions_are_the_contract_values() -> None:
    assert [a.value for a in Action] == ["create", "update", "delete"]
