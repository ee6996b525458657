"""CreateAccount polling with stubbed statuses: moto answers SUCCEEDED at once, AWS does not."""

from __future__ import annotations

import threading
import time

import pytest

from orgkit.kinds.account import AccountRequest, create_accounts
from orgkit.kinds.base import Poll


class FakeOrganizations:
    """Answers CreateAccount with IN_PROGRESS, then a scripted series of states."""

    def __init__(self, script: dict[str, list[dict]]) -> None:
        self.script = script  # by email: statuses returned by successive describes
        self.requests: dict[str, str] = {}
        self.created: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.members: dict[str, str] = {}  # what ListAccounts answers
        self.lists = 0  # ListCreateAccountStatus calls
        self.describes = 0

    def create_account(self, **kwargs: object) -> dict:
        email = str(kwargs["Email"])
        with self.lock:
            self.created.append(email)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            request_id = f"car-{len(self.created)}"
            self.requests[request_id] = email
        return {"CreateAccountStatus": {"Id": request_id, "State": "IN_PROGRESS"}}

    def get_paginator(self, name: str) -> object:
        if name == "list_create_account_status":
            return self.StatusPages(self)
        assert name == "list_accounts"
        members = self.members

        class Pages:
            def paginate(self) -> list[dict]:
                return [{"Accounts": [{"Email": e, "Id": i} for e, i in members.items()]}]

        return Pages()

    class StatusPages:
        """ListCreateAccountStatus(IN_PROGRESS): each request whose next scripted status is
        IN_PROGRESS (a look consumes it, as a describe does)."""

        def __init__(self, org: FakeOrganizations) -> None:
            self.org = org

        def paginate(self, States: list[str]) -> list[dict]:  # noqa: N803
            assert States == ["IN_PROGRESS"]
            org = self.org
            with org.lock:
                org.lists += 1
                listed = []
                for request_id, email in org.requests.items():
                    script = org.script[email]
                    if script and script[0]["State"] == "IN_PROGRESS":
                        script.pop(0)
                        listed.append({"Id": request_id, "State": "IN_PROGRESS"})
            return [{"CreateAccountStatuses": listed}]

    def describe_create_account_status(self, CreateAccountRequestId: str) -> dict:
        email = self.requests[CreateAccountRequestId]
        with self.lock:
            self.describes += 1
            status = self.script[email].pop(0)
        if status["State"] != "IN_PROGRESS":
            with self.lock:
                self.in_flight -= 1
        return {"CreateAccountStatus": {"Id": CreateAccountRequestId, **status}}


def request(email: str, resume: str | None = None) -> AccountRequest:
    return AccountRequest(
        key=email,
        name=email.split("@")[0],
        email=email,
        role_name="OrganizationAccountAccessRole",
        tags={},
        resume_request_id=resume,
    )


IN_PROGRESS = {"State": "IN_PROGRESS"}


def ok(account_id: str) -> dict:
    return {"State": "SUCCEEDED", "AccountId": account_id}


def test_polls_every_interval_until_succeeded() -> None:
    org = FakeOrganizations({"a@x.com": [IN_PROGRESS, IN_PROGRESS, IN_PROGRESS, ok("111")]})
    sleeps: list[float] = []
    created, failed = create_accounts(
        org,
        [request("a@x.com")],
        5,
        lambda r, m: None,
        Poll(first_delay=1, max_delay=3, timeout=100),
        sleep=sleeps.append,
    )
    assert created == {"a@x.com": "111"} and failed == {}
    # One look at once, then one list a second: no doubling wait after the account is made.
    assert sleeps == [1, 1, 1]
    assert org.lists == 3 and org.describes == 2


def test_one_list_polls_every_request_in_flight() -> None:
    emails = [f"{n}@x.com" for n in range(5)]
    org = FakeOrganizations({e: [IN_PROGRESS] * 4 + [ok(f"11{n}")] for n, e in enumerate(emails)})
    ticks: list[float] = []

    def tick(seconds: float) -> None:
        # A real wait, short: the five requests are all waiting before the first look.
        ticks.append(seconds)
        time.sleep(0.2)

    created, failed = create_accounts(
        org,
        [request(e) for e in emails],
        5,
        lambda r, m: None,
        Poll(first_delay=1, max_delay=1, timeout=100),
        sleep=tick,
    )
    assert len(created) == 5 and failed == {}
    # Each request: one describe at once and one when it leaves the list; the lists are shared
    # (at most one per tick for all five, never one per request per tick).
    assert org.describes == 10
    assert org.lists == len(ticks) < 5 * 3


def test_a_request_past_the_timeout_is_reported_still_in_progress() -> None:
    org = FakeOrganizations({"slow@x.com": [IN_PROGRESS] * 50})
    now = [0.0]

    def tick(seconds: float) -> None:
        now[0] += seconds

    _, failed = create_accounts(
        org,
        [request("slow@x.com")],
        5,
        lambda r, m: None,
        Poll(first_delay=1, max_delay=1, timeout=5),
        sleep=tick,
        clock=lambda: now[0],
    )
    assert "still IN_PROGRESS after 5s" in failed["slow@x.com"].message


def test_failure_reason_becomes_a_clear_error_and_others_still_finish() -> None:
    org = FakeOrganizations(
        {
            "dup@x.com": [
                IN_PROGRESS,
                {"State": "FAILED", "FailureReason": "EMAIL_ALREADY_EXISTS"},
            ],
            "b@x.com": [ok("222")],
        }
    )
    created, failed = create_accounts(
        org,
        [request("dup@x.com"), request("b@x.com")],
        5,
        lambda r, m: None,
        sleep=lambda s: None,
    )
    assert created == {"b@x.com": "222"}
    error = failed["dup@x.com"]
    assert "EMAIL_ALREADY_EXISTS" in error.message
    assert error.hint and "another AWS account already uses this email" in error.hint


def test_at_most_in_flight_requests_run_at_once() -> None:
    emails = [f"a{i}@x.com" for i in range(12)]
    org = FakeOrganizations(
        {e: [IN_PROGRESS, IN_PROGRESS, ok(str(i))] for i, e in enumerate(emails)}
    )
    barrier_sleep = threading.Event()

    def sleep(_: float) -> None:
        barrier_sleep.wait(0.01)

    created, failed = create_accounts(
        org, [request(e) for e in emails], 5, lambda r, m: None, sleep=sleep
    )
    assert len(created) == 12 and not failed
    assert 1 < org.max_in_flight <= 5


def test_timeout_says_the_request_can_be_resumed() -> None:
    org = FakeOrganizations({"slow@x.com": [IN_PROGRESS] * 10})
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    _, failed = create_accounts(
        org,
        [request("slow@x.com")],
        5,
        lambda r, m: None,
        Poll(first_delay=10, max_delay=10, timeout=25),
        sleep=sleep,
        clock=lambda: now[0],
    )
    error = failed["slow@x.com"]
    assert "still IN_PROGRESS" in error.message and "car-1" in error.message
    assert error.hint and "resumes" in error.hint


def test_resume_polls_the_old_request_and_never_creates_again() -> None:
    org = FakeOrganizations({"a@x.com": [ok("333")]})
    org.requests["car-old"] = "a@x.com"
    messages: list[str] = []
    created, _ = create_accounts(
        org,
        [request("a@x.com", resume="car-old")],
        5,
        lambda r, m: messages.append(m),
        sleep=lambda s: None,
    )
    assert created == {"a@x.com": "333"}
    assert org.created == []
    assert messages[0] == "resuming CreateAccount request car-old"


@pytest.mark.parametrize("in_flight", [1, 2])
def test_in_flight_bound_is_respected_for_small_limits(in_flight: int) -> None:
    emails = [f"b{i}@x.com" for i in range(4)]
    org = FakeOrganizations({e: [IN_PROGRESS, ok(str(i))] for i, e in enumerate(emails)})
    create_accounts(
        org,
        [request(e) for e in emails],
        in_flight,
        lambda r, m: None,
        sleep=lambda s: None if threading.Event().wait(0.005) else None,
    )
    assert org.max_in_flight <= in_flight


def test_email_already_in_this_organization_is_adopted_not_failed() -> None:
    """A CreateAccount retried after a lost response: the retry fails with
    EMAIL_ALREADY_EXISTS, the first request made the account."""
    org = FakeOrganizations(
        {"a@x.com": [{"State": "FAILED", "FailureReason": "EMAIL_ALREADY_EXISTS"}]}
    )
    org.members["A@x.com"] = "444"
    created, failed = create_accounts(
        org, [request("a@x.com")], 5, lambda r, m: None, sleep=lambda s: None
    )
    assert created == {"a@x.com": "444"} and not failed


def test_email_used_outside_the_organization_fails_with_its_hint() -> None:
    org = FakeOrganizations(
        {"a@x.com": [{"State": "FAILED", "FailureReason": "EMAIL_ALREADY_EXISTS"}]}
    )
    created, failed = create_accounts(
        org, [request("a@x.com")], 5, lambda r, m: None, sleep=lambda s: None
    )
    assert not created
    assert "EMAIL_ALREADY_EXISTS" in failed["a@x.com"].message
