"""The concurrent read: scheduling by declared fields, the pipelined structure walk, the shared
reads and the pacer, with fakes (no emulator)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Any, cast

import pytest

from orgkit.kinds import REGISTRY
from orgkit.live.model import LiveAccount, LiveOrg, LiveOU
from orgkit.live.pacing import SLACK, Pacer
from orgkit.live.reader import (
    SharedReads,
    accounts_for_parent,
    read_ou_tree,
    read_structure,
)
from orgkit.live.schedule import (
    ORGANIZATION_FIELDS,
    UndeclaredField,
    dependencies,
    read_kinds,
)


def organization() -> LiveOrg:
    return LiveOrg(
        organization_id="o-1",
        management_account_id="111111111111",
        feature_set="ALL",
        root_id="r-1",
        policy_types=(),
        ous=(),
        accounts=(),
        policies=(),
    )


@dataclass
class Fake:
    """A kind whose read waits a little and sets fields from what it needs."""

    kind: str
    needs: frozenset[str] | None
    provides: frozenset[str]
    make: Any
    seconds: float = 0.0
    log: list[str] | None = None

    def read(self, ctx: object, live: LiveOrg) -> LiveOrg:
        if self.log is not None:
            self.log.append(f"start {self.kind}")
        time.sleep(self.seconds)
        result: LiveOrg = self.make(live)
        if self.log is not None:
            self.log.append(f"end {self.kind}")
        return result


ACCOUNT = LiveAccount("222222222222", "a", "a@example.org", "ACTIVE", "r-1")


def fakes(log: list[str] | None = None) -> list[Fake]:
    return [
        Fake("ous", frozenset(), frozenset({"ous"}),
             lambda live: replace(live, ous=(LiveOU("ou-1", "A", "/A", "r-1"),)), 0.05, log),
        Fake("accounts", frozenset(), frozenset({"accounts"}),
             lambda live: replace(live, accounts=(ACCOUNT,)), 0.05, log),
        Fake("tagged", frozenset({"accounts"}), frozenset({"pending_accounts"}),
             # reads what "accounts" set: it must run after it
             lambda live: replace(live, pending_accounts=()) if live.accounts else 1 / 0,
             0.0, log),
        Fake("extra", frozenset(), frozenset({"resources"}),
             lambda live: replace(live, resources={**live.resources, "extra": 1}), 0.0, log),
        Fake("more", None, frozenset({"resources"}),
             lambda live: replace(live, resources={**live.resources, "more": len(live.ous)}),
             0.0, log),
    ]  # fmt: skip


def sequential(kinds: list[Fake], live: LiveOrg) -> LiveOrg:
    for kind in kinds:
        live = kind.read(None, live)
    return live


def test_the_concurrent_read_gives_the_sequential_snapshot() -> None:
    kinds = fakes()
    assert read_kinds(kinds, None, organization()) == sequential(kinds, organization())


def test_independent_reads_overlap_and_dependent_ones_wait() -> None:
    log: list[str] = []
    read_kinds(fakes(log), None, organization())
    # Both slow reads started before either ended; "tagged" only after "accounts" ended.
    assert log.index("start accounts") < log.index("end ous")
    assert log.index("start tagged") > log.index("end accounts")
    # needs=None waits for every kind before it.
    assert log.index("start more") > max(log.index(f"end {k}") for k in ("ous", "accounts"))


def test_dependencies_follow_the_declared_fields() -> None:
    found = dependencies(fakes())
    assert found["ous"] == set() and found["accounts"] == set()
    assert found["tagged"] == {"accounts"}
    assert found["more"] == {"ous", "accounts", "tagged", "extra"}


def test_a_kind_that_sets_a_field_it_does_not_provide_is_a_bug() -> None:
    wrong = Fake("wrong", frozenset(), frozenset(), lambda live: replace(live, ous=()))
    wrong_but_same = Fake("same", frozenset(), frozenset(), lambda live: live)
    assert read_kinds([wrong_but_same], None, organization()) == organization()
    ou = LiveOU("x", "X", "/X", "r")
    wrong = replace(wrong, make=lambda live: replace(live, ous=(ou,)))
    with pytest.raises(UndeclaredField, match="'wrong' set 'ous'"):
        read_kinds([wrong], None, organization())


def test_a_failed_read_fails_the_whole_read_and_nothing_after_it_starts() -> None:
    log: list[str] = []
    kinds = fakes(log)
    kinds[1] = replace(kinds[1], make=lambda live: 1 / 0)  # "accounts" fails
    with pytest.raises(ZeroDivisionError):
        read_kinds(kinds, None, organization())
    assert "start tagged" not in log


def test_every_kind_declares_what_its_read_needs_and_sets() -> None:
    fields = {f for f in LiveOrg.__dataclass_fields__} - ORGANIZATION_FIELDS
    for kind in REGISTRY.values():
        assert kind.needs is not None, kind.kind
        assert kind.needs <= fields, kind.kind
        assert kind.provides <= fields, kind.kind
    # Every field a kind needs is provided by a kind before it.
    kinds = list(REGISTRY.values())
    for index, kind in enumerate(kinds):
        provided = set().union(*(k.provides for k in kinds[:index]))
        assert kind.needs is not None and kind.needs <= provided, kind.kind


# -- the pipelined structure walk ---------------------------------------------------------------
class FakeOrg:
    """Organizations' two per-parent listings over a tree, pages of two, slow answers."""

    def __init__(self, tree: dict[str, list[str]], accounts: dict[str, list[str]]) -> None:
        self.tree, self.accounts = tree, accounts
        self.fail_on: str | None = None

    def get_paginator(self, name: str) -> Any:
        org = self

        class Pages:
            def paginate(self, ParentId: str) -> list[dict[str, Any]]:  # noqa: N803
                time.sleep(0.002)
                if ParentId == org.fail_on:
                    raise RuntimeError(f"{name} {ParentId}")
                if name == "list_organizational_units_for_parent":
                    items = [{"Id": c, "Name": c.upper()} for c in org.tree.get(ParentId, [])]
                    key = "OrganizationalUnits"
                else:
                    items = [
                        {"Id": a, "Name": a, "Email": f"{a}@example.org"}
                        for a in org.accounts.get(ParentId, [])
                    ]
                    key = "Accounts"
                return [{key: items[i : i + 2]} for i in range(0, max(len(items), 1), 2)]

        return Pages()


def fake_org() -> FakeOrg:
    tree = {"r": ["a", "b", "c"], "a": ["a1", "a2", "a3"], "b": ["b1"], "a2": ["x", "y"]}
    parents = ["r", "a", "b", "c", "a1", "a2", "a3", "b1", "x", "y"]
    accounts = {p: [f"{p}-acct{i}" for i in range(len(p) + 1)] for p in parents}
    return FakeOrg(tree, accounts)


def test_the_pipelined_walk_matches_the_tree_then_accounts_walk() -> None:
    org = fake_org()
    structure = read_structure(org, "r")
    ous = read_ou_tree(org, "r")
    assert list(structure.ous) == ous
    parents = ["r", *(ou.id for ou in ous)]
    assert list(structure.accounts) == [a for p in parents for a in accounts_for_parent(org, p)]
    assert len(structure.accounts) == sum(len(v) for v in org.accounts.values())


def test_a_failed_listing_fails_the_walk() -> None:
    org = fake_org()
    org.fail_on = "a2"
    with pytest.raises(RuntimeError, match="a2"):
        read_structure(org, "r")


def test_a_shared_read_runs_once_and_shares_its_error() -> None:
    shared = SharedReads()
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.05)
        return 7

    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(shared.once("k", slow))) for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [7] * 5 and calls == [1]
    with pytest.raises(ZeroDivisionError):
        shared.once("bad", lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        shared.once("bad", lambda: 2)


def test_the_pacer_spends_its_burst_then_waits_one_interval_a_call() -> None:
    now = [0.0]
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)

    pacer = Pacer({"ListX": (5, 8)}, clock=lambda: now[0], sleep=sleep)
    for _ in range(8 - SLACK):
        assert pacer.wait("ListX") == 0
    assert pacer.wait("ListX") == pytest.approx(0.2)
    assert pacer.wait("ListX") == pytest.approx(0.4)  # reserved behind the one before
    now[0] = 10.0  # the bucket refills, up to its capacity only
    assert all(pacer.wait("ListX") == 0 for _ in range(8 - SLACK))
    assert pacer.wait("ListX") > 0
    assert pacer.wait("Unpaced") == 0
    assert waited == [pytest.approx(0.2), pytest.approx(0.4), pytest.approx(0.2)]


def test_member_account_clients_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from orgkit.live import member

    made: list[str] = []
    sessions = member.MemberSessions(cast(Any, type("Aws", (), {"region": "us-east-1"})()))

    def make_client(session: Any, service: str, region: str) -> object:
        assert session is sessions._shared  # one session makes every member client
        made.append(sessions._core._credentials)  # type: ignore[attr-defined]
        return object()

    monkeypatch.setattr(member, "make_client", make_client)
    monkeypatch.setattr(
        member.MemberSessions,
        "_account_credentials",
        lambda self, account, role, new: f"credentials {account}",
    )
    first = sessions.client("000000000000", "Role", "iam")
    assert sessions.client("000000000000", "Role", "iam") is first  # reused while recent
    for n in range(1, 200):
        sessions.client(f"{n:012d}", "Role", "iam")
    assert len(sessions._clients) == member.CLIENTS_KEPT
    assert sessions.client("000000000000", "Role", "iam") is not first  # made again
    assert made.count("credentials 000000000000") == 2
    assert made[1] == "credentials 000000000001"  # each client made with its account's
    assert sessions._core._credentials is None  # type: ignore[attr-defined]


def test_member_clients_sign_with_their_own_accounts_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Clients made side by side from the one shared session each keep their account's
    credentials, and the credentials of an account are shared by its clients."""
    import datetime
    from concurrent.futures import ThreadPoolExecutor

    from orgkit.live import member

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "management")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "management-secret")
    expiry = (
        datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    ).isoformat()
    monkeypatch.setattr(
        member.MemberSessions,
        "_first_credentials",
        lambda self, fetch, arn, new: {
            "access_key": arn.split(":")[4],
            "secret_key": "secret",
            "token": "token",
            "expiry_time": expiry,
        },
    )
    aws = type("Aws", (), {"region": "us-east-1", "caller_name": lambda self: "me"})()
    aws.client = lambda service: object()
    sessions = member.MemberSessions(cast(Any, aws))
    accounts = [f"{n:012d}" for n in range(40)]

    def signer_key(account: str, service: str) -> str:
        client = sessions.client(account, "Role", service)
        return str(client._request_signer._credentials.get_frozen_credentials().access_key)

    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(signer_key, accounts, ["iam"] * 40))
        keys += list(pool.map(signer_key, accounts, ["sts"] * 40))
    assert keys == accounts + accounts
    iam = sessions.client("000000000007", "Role", "iam")
    sts = sessions.client("000000000007", "Role", "sts")
    assert iam._request_signer._credentials is sts._request_signer._credentials


def test_pacing_is_off_where_the_environment_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORGKIT_PACING", "off")
    assert Pacer().buckets == {}
    monkeypatch.setenv("ORGKIT_PACING", "on")
    assert "DescribePolicy" in Pacer().buckets


def test_the_shared_member_session_never_falls_back_to_the_callers_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A member client made without its account's credentials must not sign as the caller
    (the management account) from the environment."""
    from orgkit.live import member

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAMANAGEMENT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    sessions = member.MemberSessions(cast(Any, type("Aws", (), {"region": "us-east-1"})()))
    assert sessions._core.get_credentials() is None
