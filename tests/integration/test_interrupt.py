"""Ctrl-C during apply: the first stops after the calls in flight and says what was done; the
next apply picks up the rest."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from orgkit import workflow
from orgkit.apply import apply_plan
from orgkit.errors import Interrupted
from orgkit.live import AwsContext
from orgkit.plan import PlanOptions
from orgkit.sandbox.server import Sandbox
from tests.helpers import RecordingReporter, converged, replan


def test_a_stop_request_ends_apply_between_batches(sandbox: Sandbox, seed_dir: Path) -> None:
    config = seed_dir / "org.yaml"
    planned = replan(config)
    asked = []

    def stop_requested() -> bool:
        asked.append(1)
        return len(asked) > 3  # three batches run, then Ctrl-C

    reporter = RecordingReporter()
    with pytest.raises(Interrupted) as caught:
        apply_plan(
            planned.plan, AwsContext(), planned.live, reporter, stop_requested=stop_requested
        )
    done = [e for e in reporter.events if e[0] == "done"]
    total = len(planned.plan.changes)
    assert 0 < len(done) < total
    assert f"apply stopped after {len(done)} of {total} changes" in caught.value.message
    assert "orgkit plan" in (caught.value.hint or "")
    # Nothing half-done: the next apply converges.
    converged(config)


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signals reach the main thread only",
)
def test_first_ctrl_c_asks_to_stop_the_second_interrupts() -> None:
    notices: list[str] = []
    before = signal.getsignal(signal.SIGINT)
    with workflow.stop_on_interrupt(notices.append) as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.wait(5) and notices and "Ctrl-C again" in notices[0]
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


def test_run_apply_without_a_stop_applies_everything(sandbox: Sandbox, seed_dir: Path) -> None:
    planned = replan(seed_dir / "org.yaml")
    result, after = workflow.run_apply(planned, AwsContext(), RecordingReporter(), PlanOptions())
    assert len(result.done) == len(planned.plan.changes) and after.empty
