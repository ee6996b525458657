"""Carry out a Plan: each change (or batch of changes) by the handler its kind declares for
its action. The only place besides the kinds' readers where AWS is touched, and the only one
that writes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from orgkit.changes import Change, Plan
from orgkit.errors import AwsError, Interrupted
from orgkit.kinds import kind_of
from orgkit.kinds.base import (
    ACCOUNT_POLL,
    STACK_POLL,
    ApplyContext,
    ApplyFailure,
    Ids,
    Poll,
    Reporter,
)
from orgkit.live.model import LiveOrg
from orgkit.live.session import AwsContext, aws_error
from orgkit.quotas import Quotas


@dataclass
class ApplyResult:
    """What was done, in order, with a short detail each."""

    done: list[tuple[Change, str]] = field(default_factory=list)


def batches(changes: list[Change]) -> list[list[Change]]:
    """Consecutive changes whose kinds give the same non-None batch key run together."""
    runs: list[list[Change]] = []
    for change in changes:
        key = kind_of(change.kind).batch_key(change)
        if runs and key is not None and kind_of(runs[-1][0].kind).batch_key(runs[-1][0]) == key:
            runs[-1].append(change)
        else:
            runs.append([change])
    return runs


def apply_plan(
    plan: Plan,
    aws: AwsContext,
    live: LiveOrg,
    reporter: Reporter,
    *,
    in_flight: int = 5,
    account_poll: Poll = ACCOUNT_POLL,
    stack_poll: Poll = STACK_POLL,
    sleep: Callable[[float], None] = time.sleep,
    home_region: str = "us-east-1",
    quotas: Quotas | None = None,
    stop_requested: Callable[[], bool] = lambda: False,
) -> ApplyResult:
    """Do exactly the plan's changes, in order; stop at the first failure and say why.

    ``stop_requested`` is asked before each batch (Ctrl-C sets it): apply then stops after the
    calls in flight and says what was done. The caller must have checked the management
    account and that ``plan`` is a fresh plan of ``live``.
    """
    ctx = ApplyContext(
        aws=aws,
        ids=Ids(live),
        reporter=reporter,
        management_id=live.management_account_id,
        home_region=home_region,
        in_flight=in_flight,
        account_poll=account_poll,
        stack_poll=stack_poll,
        quotas=quotas or Quotas(),
        sleep=sleep,
    )
    result = ApplyResult()
    total = len(plan.changes)
    for batch in batches(list(plan.changes)):
        if stop_requested():
            raise Interrupted(
                f"interrupted: apply stopped after {len(result.done)} of {total} changes",
                hint="Nothing done is undone; run `orgkit plan` to see what remains, then "
                "apply again.",
            )
        first = batch[0]
        handler = kind_of(first.kind).handlers[first.action]
        for change in batch:
            reporter.change_started(change)
        try:
            done = handler(ctx, batch)
        except ApplyFailure as failure:
            _report(reporter, result, failure.done)
            raise _stopped(failure.error, result, total) from None
        except AwsError as exc:
            raise _stopped(exc, result, total) from exc
        except (ClientError, BotoCoreError, ResponseParserError) as exc:
            what = first.address + (f" and {len(batch) - 1} more" if len(batch) > 1 else "")
            error = aws_error(f"{first.action.value} {what}", exc)
            raise _stopped(error, result, total) from exc
        _report(reporter, result, done)
    return result


def _report(reporter: Reporter, result: ApplyResult, done: list[tuple[Change, str]]) -> None:
    for change, detail in done:
        reporter.change_done(change, detail)
    result.done += done


def _stopped(error: AwsError, result: ApplyResult, total: int) -> AwsError:
    return AwsError(
        f"{error.message}\napply stopped after {len(result.done)} of {total} changes",
        hint=(error.hint + "\n" if error.hint else "")
        + "Nothing done is undone; run `orgkit plan` to see what remains, then apply again.",
    )
