"""``--target``: what a targeted plan keeps, table-driven on the planner's small organization,
and how targets are written and resolved."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from orgkit.errors import OrgkitError
from orgkit.plan import PlanOptions, plan
from orgkit.target import Target
from tests.unit.test_planner import (
    APP,
    BASE,
    OU_SANDBOX,
    PLAY,
    STRAY_ID,
    account,
    live_org,
    synced,
    write_config,
)
from tests.unit.test_stacksets import TEMPLATE, in_sync, make_config, stack_changes
from tests.unit.test_stacksets import live_org as stack_live

EMPTY = live_org()  # the management account alone: everything in BASE is to create
EVERYTHING = [
    '+ ou["/Prod"]',
    '+ ou["/Prod/Apps"]',
    '+ ou["/Sandbox"]',
    '+ policy["deny-leave"]',
    '+ policy["regions"]',
    '+ policy_attachment["deny-leave" -> "/"]',
    '+ policy_attachment["regions" -> "/Prod"]',
    '+ account["app-prod@example.com"]',
    '+ account["play@example.com"]',
]
PLAY_ONLY = [
    '+ ou["/Sandbox"]',
    '+ policy["deny-leave"]',
    '+ policy_attachment["deny-leave" -> "/"]',
    '+ account["play@example.com"]',
]
APP_ONLY = [
    '+ ou["/Prod"]',
    '+ ou["/Prod/Apps"]',
    '+ policy["deny-leave"]',
    '+ policy["regions"]',
    '+ policy_attachment["deny-leave" -> "/"]',
    '+ policy_attachment["regions" -> "/Prod"]',
    '+ account["app-prod@example.com"]',
]
# App Prod moved by hand to /Sandbox, and an account nobody declared there.
MOVED = synced(
    accounts=(
        replace(APP, parent_id=OU_SANDBOX),
        PLAY,
        account(STRAY_ID, "stray@example.com", OU_SANDBOX),
    )
)
APP_MOVE = ['~ account["app-prod@example.com"]']

CASES = {
    "whole organization": ([], EMPTY, EVERYTHING),
    "an account by name: its OU, the root's guardrail": (["account:Play"], EMPTY, PLAY_ONLY),
    "an account by email, any case": (["account:PLAY@example.com"], EMPTY, PLAY_ONLY),
    "a nested account: both OUs above, the guardrail on /Prod": (
        ["account:App Prod"],
        EMPTY,
        APP_ONLY,
    ),
    "an OU: its sub-OUs and their accounts": (["ou:/Prod"], EMPTY, APP_ONLY),
    "a bare path is an OU": (["/Prod/Apps"], EMPTY, APP_ONLY),
    "two targets: the union": (["account:Play", "ou:/Prod"], EMPTY, EVERYTHING),
    "the root: everything": (["ou:/"], EMPTY, EVERYTHING),
    "a moved account by its id": (["account:222222222222"], MOVED, APP_MOVE),
    "the OU it was moved into holds it (live)": (["ou:/Sandbox"], MOVED, APP_MOVE),
    "the OU it belongs in holds it (declared)": (["ou:/Prod"], MOVED, APP_MOVE),
    "another account: nothing": (["account:Play"], MOVED, []),
}


@pytest.mark.parametrize("targets, live, expected", CASES.values(), ids=list(CASES))
def test_a_targeted_plan_keeps_the_target_and_what_governs_it(
    tmp_path: Path, targets: list[str], live: object, expected: list[str]
) -> None:
    config = write_config(tmp_path, BASE)
    result = plan(config, live, PlanOptions(), Target.parse(targets))  # type: ignore[arg-type]
    assert [f"{c.action.symbol} {c.address}" for c in result.changes] == expected
    if Target.parse(targets).everything:  # none, or the root: the whole organization
        assert result.target is None
        assert not any(w.startswith("Targeted plan") for w in result.warnings)
    else:
        assert result.target is not None
        assert result.warnings[0].startswith(f"Targeted plan ({Target.parse(targets)})")


def test_unmanaged_things_are_kept_within_the_target(tmp_path: Path) -> None:
    config = write_config(tmp_path, BASE)
    stray = 'account["stray@example.com"]'
    in_sandbox = plan(config, MOVED, PlanOptions(), Target.parse(["ou:/Sandbox"]))
    assert [u.address for u in in_sandbox.unmanaged] == [stray]
    in_prod = plan(config, MOVED, PlanOptions(), Target.parse(["ou:/Prod"]))
    assert in_prod.unmanaged == ()
    assert stray in [u.address for u in plan(config, MOVED, PlanOptions()).unmanaged]


def test_a_project_holds_its_accounts(tmp_path: Path) -> None:
    text = (
        BASE.replace(
            "    ou: /Sandbox\n    environment: sandbox\n",
            "    ou: /Sandbox\n    environment: sandbox\n    project: play\n",
        )
        + "projects:\n  - name: play\n"
    )
    assert text != BASE
    config = write_config(tmp_path, text)
    result = plan(config, EMPTY, PlanOptions(), Target.parse(["project:play"]))
    assert [f"{c.action.symbol} {c.address}" for c in result.changes] == PLAY_ONLY
    with pytest.raises(OrgkitError, match="no such project in org.yaml .did you mean 'play'"):
        plan(config, EMPTY, PlanOptions(), Target.parse(["project:plya"]))


def test_what_reaches_beyond_the_target_is_said(tmp_path: Path) -> None:
    config = write_config(tmp_path, BASE)
    play = plan(config, EMPTY, PlanOptions(), Target.parse(["account:Play"]))
    assert list(play.warnings[1:]) == [
        'policy["deny-leave"] governs accounts beyond the target too (attached at the root '
        "(every account)): its change takes effect there as well.",
        'policy_attachment["deny-leave" -> "/"] governs accounts beyond the target too (at the '
        "root (every account)).",
    ]
    # regions is attached at /Prod, where only the target's accounts are: nothing said of it.
    prod = plan(config, EMPTY, PlanOptions(), Target.parse(["ou:/Prod"]))
    assert not any("regions" in w for w in prod.warnings)
    # A stack set's update reaches every instance.
    (tmp_path / "stacks").mkdir()
    live = stack_live((in_sync(make_config(tmp_path / "stacks")),))
    edited = make_config(
        tmp_path / "stacks", template=TEMPLATE.replace("PAY_PER_REQUEST", "PROVISIONED")
    )
    by_project = plan(edited, live, PlanOptions(), Target.parse(["project:app"]))
    assert by_project.warnings[1] == (
        'stack_set["platform"]: the update reaches every instance of the stack set, not only '
        "the target's."
    )


def test_a_detachment_that_governs_others_is_left_to_a_whole_plan(tmp_path: Path) -> None:
    """deny-leave moves from the root to /Prod: detaching it from the root takes it from Play
    too; a plan of App Prod alone must not make that detachment (nor one of Play)."""
    moved = BASE.replace("  policies: [deny-leave]\n  tags:", "  tags:").replace(
        "    policies: [regions]\n", "    policies: [regions, deny-leave]\n"
    )
    assert moved.count("deny-leave") == BASE.count("deny-leave")
    config = write_config(tmp_path, moved)
    allow = PlanOptions(allow_destroy=True)
    whole = [f"{c.action.symbol} {c.address}" for c in plan(config, synced(), allow).changes]
    assert whole == [
        '+ policy_attachment["deny-leave" -> "/Prod"]',
        '- policy_attachment["deny-leave" -> "/"]',
    ]
    for targets in (["account:App Prod"], ["account:Play"], ["ou:/Prod"]):
        kept = plan(config, synced(), allow, Target.parse(targets)).changes
        assert '- policy_attachment["deny-leave" -> "/"]' not in [
            f"{c.action.symbol} {c.address}" for c in kept
        ], targets
    everything = plan(config, synced(), allow, Target.parse(["ou:/"])).changes
    assert len(everything) == 2


def test_targets_are_read_forgivingly_and_once() -> None:
    target = Target.parse(["OU:/Prod/", "ou:/Prod", "Account:Play", "account:Play", "/Prod"])
    assert target == Target(accounts=("Play",), ous=("/Prod",))
    assert Target.parse(["ou:/"]).everything
    assert Target.of_filters((), ("/",)).everything  # drift --ou / reads everything


def test_drift_filters_name_their_own_options(tmp_path: Path) -> None:
    config = write_config(tmp_path, BASE)
    with pytest.raises(OrgkitError, match="^--account Plya: no account") as error:
        plan(config, EMPTY, PlanOptions(), Target.of_filters(("Plya",), ()))
    assert "--target" not in str(error.value) + (error.value.hint or "")
    with pytest.raises(OrgkitError, match="^--ou /Prd: no OU"):
        plan(config, EMPTY, PlanOptions(), Target.of_filters((), ("/Prd",)))


@pytest.mark.parametrize(
    "targets, message",
    [
        (["acount:Play"], "--target acount:Play: not a target .did you mean 'account'"),
        (["account:"], "--target account:: a name is missing after account:"),
        (["ou:Prod"], "an OU is named by its path"),
        (["Play"], "--target Play: not a target"),
    ],
)
def test_a_target_written_wrong_is_an_error(targets: list[str], message: str) -> None:
    with pytest.raises(OrgkitError, match=message):
        Target.parse(targets)


@pytest.mark.parametrize(
    "targets, message",
    [
        (["account:Plya"], "no account with that name, email or id .* .did you mean 'Play'"),
        (["ou:/Prd"], "no OU with that path .* .did you mean '/Prod'"),
    ],
)
def test_a_target_nobody_has_is_an_error(tmp_path: Path, targets: list[str], message: str) -> None:
    config = write_config(tmp_path, BASE)
    with pytest.raises(OrgkitError, match=message):
        plan(config, EMPTY, PlanOptions(), Target.parse(targets))


def test_a_target_survives_the_plan_file(tmp_path: Path) -> None:
    from orgkit.kinds import PlanFormatError, plan_from_dict

    config = write_config(tmp_path, BASE)
    target = Target.parse(["account:Play", "ou:/Prod", "project:x"])
    assert Target.from_dict(target.to_dict()) == target
    saved = plan(config, EMPTY, PlanOptions(), Target.parse(["account:Play"])).to_dict()
    assert plan_from_dict(saved).target == {"accounts": ["Play"], "ous": [], "projects": []}
    with pytest.raises(PlanFormatError, match="target"):
        plan_from_dict({**saved, "target": {"accounts": "Play"}})


# -- stack sets: created for the target's instances, or the target project's own ----------------
@pytest.mark.parametrize(
    "targets, expected",
    [
        (  # a project's own stack set (stack_sets[].project), and its instances
            ["project:app"],
            [
                '+ stack_set["platform"]',
                '+ stack_instance["platform" -> "dev@x.com" -> "us-east-1"]',
                '+ stack_instance["platform" -> "prod@x.com" -> "us-east-1"]',
            ],
        ),
        (  # one account: the set is created because its instance needs it
            ["account:Dev"],
            [
                '+ stack_set["platform"]',
                '+ stack_instance["platform" -> "dev@x.com" -> "us-east-1"]',
            ],
        ),
        (["account:Sec"], []),  # no instance of the set there: nothing of it
    ],
    ids=["project", "account", "account-without-instances"],
)
def test_stack_sets_follow_the_target(
    tmp_path: Path, targets: list[str], expected: list[str]
) -> None:
    config = make_config(tmp_path)
    result = plan(config, stack_live(), PlanOptions(), Target.parse(targets))
    assert stack_changes(result) == expected


def test_a_stack_set_update_is_kept_only_for_its_project(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    live = stack_live((in_sync(config),))
    edited = make_config(tmp_path, template=TEMPLATE.replace("PAY_PER_REQUEST", "PROVISIONED"))
    assert stack_changes(plan(edited, live)) == ['~ stack_set["platform"]']
    by_project = plan(edited, live, PlanOptions(), Target.parse(["project:app"]))
    assert stack_changes(by_project) == ['~ stack_set["platform"]']
    # An update of the set reaches every account it deploys to: not the plan of one account.
    by_account = plan(edited, live, PlanOptions(), Target.parse(["account:Dev"]))
    assert stack_changes(by_account) == []
