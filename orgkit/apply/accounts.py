"""CreateAccount is asynchronous: start (or resume) requests, poll with backoff, 5 in flight."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from orgkit.errors import AccountCreationError

# FailureReason values of DescribeCreateAccountStatus, said as a person needs to hear them.
FAILURE_HINTS = {
    "EMAIL_ALREADY_EXISTS": "another AWS account already uses this email; pick another "
    "email, or invite the existing account to the organization and declare it",
    "ACCOUNT_LIMIT_EXCEEDED": "the organization has reached its account quota; ask AWS "
    "Support for more accounts",
    "INVALID_EMAIL": "AWS rejected the email address",
    "INVALID_ADDRESS": "the management account's address is invalid",
    "CONCURRENT_ACCOUNT_MODIFICATION": "another account operation was in progress; run "
    "apply again",
    "INTERNAL_FAILURE": "AWS had an internal failure; run apply again later",
    "MISSING_PAYMENT_INSTRUMENT": "the management account has no valid payment method",
    "MISSING_BUSINESS_VALIDATION": "the management account has not completed business "
    "validation",
    "PENDING_BUSINESS_VALIDATION": "business validation of the management account is "
    "still in progress",
    "FAILED_BUSINESS_VALIDATION": "business validation of the management account failed",
    "UNKNOWN_BUSINESS_VALIDATION": "the management account's business validation is in "
    "an unknown state",
    "GOVCLOUD_ACCOUNT_ALREADY_EXISTS": "a GovCloud account already exists for this account",
    "UPDATE_EXISTING_RESOURCE_POLICY_WITH_TAGS_NOT_SUPPORTED": "the tags could not be "
    "applied to the new account",
}


@dataclass(frozen=True)
class PollPolicy:
    """How patiently to wait for CreateAccount: exponential backoff up to a deadline."""

    first_delay: float = 2.0
    max_delay: float = 20.0
    timeout: float = 30 * 60.0


@dataclass(frozen=True)
class AccountRequest:
    """One account to create (or whose earlier request to resume)."""

    key: str  # the change address, for reporting
    name: str
    email: str
    role_name: str
    tags: dict[str, str]
    resume_request_id: str | None = None


def create_accounts(
    org: Any,
    requests: list[AccountRequest],
    in_flight: int,
    on_update: Callable[[AccountRequest, str], None],
    poll: PollPolicy = PollPolicy(),
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[dict[str, str], dict[str, AccountCreationError]]:
    """Create accounts at most ``in_flight`` at a time.

    Returns (account ids by request key, errors by request key); every request runs to its end
    even when another fails, so nothing started is left unreported.
    """

    def one(request: AccountRequest) -> tuple[str, str | AccountCreationError]:
        try:
            return request.key, _create_one(org, request, on_update, poll, sleep, clock)
        except AccountCreationError as exc:
            on_update(request, f"failed: {exc.message}")
            return request.key, exc
        except ClientError as exc:
            error = exc.response.get("Error", {})
            failure = AccountCreationError(
                f"creating account {request.email} failed: {error.get('Code')}: "
                f"{error.get('Message')}",
                hint="Run apply again: an IN_PROGRESS request is resumed, never repeated.")
            on_update(request, f"failed: {failure.message}")
            return request.key, failure

    created: dict[str, str] = {}
    failed: dict[str, AccountCreationError] = {}
    with ThreadPoolExecutor(max_workers=max(1, in_flight)) as pool:
        for key, outcome in pool.map(one, requests):
            if isinstance(outcome, AccountCreationError):
                failed[key] = outcome
            else:
                created[key] = outcome
    return created, failed


def _create_one(
    org: Any,
    request: AccountRequest,
    on_update: Callable[[AccountRequest, str], None],
    poll: PollPolicy,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> str:
    if request.resume_request_id:
        request_id = request.resume_request_id
        on_update(request, f"resuming CreateAccount request {request_id}")
    else:
        status = org.create_account(
            Email=request.email,
            AccountName=request.name,
            RoleName=request.role_name,
            IamUserAccessToBilling="ALLOW",
            Tags=[{"Key": k, "Value": v} for k, v in sorted(request.tags.items())],
        )["CreateAccountStatus"]
        request_id = status["Id"]
        on_update(request, f"requested ({request_id})")
    deadline = clock() + poll.timeout
    delay = poll.first_delay
    while True:
        status = org.describe_create_account_status(CreateAccountRequestId=request_id)[
            "CreateAccountStatus"
        ]
        state = status["State"]
        if state == "SUCCEEDED":
            on_update(request, f"created {status['AccountId']}")
            return str(status["AccountId"])
        if state == "FAILED":
            reason = status.get("FailureReason", "UNKNOWN")
            raise AccountCreationError(
                f"creating account {request.email} failed: {reason}",
                hint=FAILURE_HINTS.get(reason, "see DescribeCreateAccountStatus for details"),
            )
        if clock() >= deadline:
            raise AccountCreationError(
                f"account {request.email} still IN_PROGRESS after {poll.timeout:.0f}s "
                f"(request {request_id})",
                hint="Run apply again later: orgkit resumes the request instead of "
                "creating the account twice.",
            )
        on_update(request, "in progress")
        sleep(delay)
        delay = min(delay * 2, poll.max_delay)
