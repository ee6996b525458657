"""The services the CLI calls: one function per command, no printing of their own."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orgkit.apply import ApplyResult, Reporter, apply_plan, lock
from orgkit.changes import DriftReport, Plan
from orgkit.config import Config, load_config
from orgkit.errors import (
    ConfigError,
    ConfigIssue,
    Interrupted,
    OrgkitError,
    SafetyError,
    WrongOrganizationError,
)
from orgkit.kinds import REGISTRY, PlanFormatError, kind_of, plan_from_dict
from orgkit.kinds.base import FLAG_OPTIONS, PlanOptions, ReadContext
from orgkit.kinds.stack_set import STACK_SET, detect_drift, stack_set_of
from orgkit.live import AwsContext, LiveOrg, read_organization
from orgkit.live.schedule import Readable, read_kinds
from orgkit.plan import plan
from orgkit.plan.drift import DriftScope, drift, scoped
from orgkit.render.templates import RenderedTemplate, lint
from orgkit.target import Target
from orgkit.views.plan_view import plan_json


@dataclass(frozen=True)
class Planned:
    """A plan with what it was made from."""

    config: Config
    live: LiveOrg
    plan: Plan


# -- read and plan ----------------------------------------------------------------------------
def read_organization_as_manager(config: Config, aws: AwsContext) -> LiveOrg:
    """The organization, once the caller is known to be its management account: the account
    org.yaml names, and the one DescribeOrganization names (a member account's credentials
    with org.yaml pointing at that member are refused)."""
    expected = config.spec.organization.management_account_id
    aws.require_management_account(expected)
    live = read_organization(aws)
    if live.management_account_id != expected:
        raise WrongOrganizationError(
            f"account {expected} is not the management account of organization "
            f"{live.organization_id}; its management account is {live.management_account_id}",
            hint="orgkit runs with the management account's credentials only: use them, and "
            "set organization.management_account_id in org.yaml to that account.",
        )
    return live


Progress = Callable[[str], None]


def _silent(message: str) -> None:
    """No progress reported."""


def read_live(
    config: Config, aws: AwsContext, progress: Progress = _silent, target: Target | None = None
) -> LiveOrg:
    """Check the caller is the management account, then read the organization and what each
    kind compares: kinds that need nothing of each other at the same time, each as soon as the
    kinds it needs have read (orgkit.live.schedule). With a ``target``, the reads made per
    account are made for its accounts only."""
    ctx = ReadContext(aws, config, target=target or Target())
    progress("Reading the organization: OUs, accounts, policies")
    live = read_organization_as_manager(config, aws)
    kinds = list(REGISTRY.values())
    begun: list[str] = []

    def started(kind: Readable[ReadContext], snapshot: LiveOrg) -> None:
        begun.append(kind.kind)
        count = len(snapshot.accounts)
        so_far = f"; {count} account{'s' if count != 1 else ''} so far" if count else ""
        heading = REGISTRY[kind.kind].heading.lower()
        progress(f"Reading {heading} ({len(begun)} of {len(kinds)}{so_far})")

    try:
        return read_kinds(kinds, ctx, live, started)
    finally:
        ctx.shared.close()


def make_plan(
    config_path: str | Path,
    aws: AwsContext,
    options: PlanOptions,
    progress: Progress = _silent,
    target: Target | None = None,
    *,
    read_only: bool = False,
) -> Planned:
    """Load and validate org.yaml, read the live organization (what ``target`` needs of it),
    and plan (the changes within ``target``). ``read_only`` (plan, drift): read inside member
    accounts through ``organization.read_role`` when org.yaml declares one; apply reads through
    the access role, which can read where the read role is not made yet."""
    config = load_config(config_path)
    if read_only:
        read_through_read_role(config, aws)
    if target is not None:
        target.check(config.spec)  # before any read
    live = read_live(config, aws, progress, target)
    return Planned(config, live, plan(config, live, options, target))


def read_through_read_role(config: Config, aws: AwsContext) -> None:
    """Read inside member accounts through org.yaml's ``organization.read_role``, if declared."""
    declared = config.spec.organization.read_role
    aws.read_members_through(declared.name if declared else None)


# -- saved plans ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SavedPlan:
    """A plan file as written, and the plan its kinds' models read from it."""

    path: Path
    document: dict[str, Any]  # the file's JSON exactly (duplicate keys refused)
    plan: Plan


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"duplicate key {duplicates[0]!r}")
    return dict(pairs)


def load_saved_plan(path: str | Path) -> SavedPlan:
    """Read a plan written by ``orgkit plan --out``: strict JSON (no duplicate keys), the
    format version, and every change's ``before``/``after`` checked against its kind's model."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OrgkitError(f"{path}: no such plan file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OrgkitError(f"{path}: cannot read the plan ({exc})") from None
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        saved = plan_from_dict(data)
        saved.canonical_changes()
    except (PlanFormatError, ValueError, RecursionError, TypeError) as exc:
        raise SafetyError(
            f"{path}: not a plan this orgkit can apply: {exc}",
            hint="Make a new one with `orgkit plan --out FILE`.",
        ) from None
    return SavedPlan(path, data, saved)


def already_applied(saved: SavedPlan, fresh: Planned) -> bool:
    """True when the saved plan had changes, was made from this config for this organization,
    and a fresh plan finds nothing left: what it set out to do is done (by it, or otherwise)."""
    return (
        bool(saved.plan.changes)
        and fresh.plan.in_sync
        and saved.plan.management_account_id == fresh.live.management_account_id
        and saved.plan.config_fingerprint == fresh.config.fingerprint()
        and saved.plan.live_fingerprint != fresh.live.fingerprint()
    )


def check_saved_plan(saved: SavedPlan, fresh: Planned, options: PlanOptions) -> None:
    """Refuse a saved plan unless it is exactly what a fresh plan is now: same management
    account, same live organization, same config, and the same document (changes, what is
    destructive, what is held back, flags, summary), compared as JSON, not as parsed models.

    Only the fresh plan's changes are ever applied; the file decides nothing.
    """
    if saved.plan.management_account_id != fresh.live.management_account_id:
        raise SafetyError(
            f"the saved plan is for management account {saved.plan.management_account_id}, "
            f"not {fresh.live.management_account_id}"
        )
    if saved.plan.live_fingerprint != fresh.live.fingerprint():
        raise SafetyError(
            "the live organization changed since this plan was made (or it was already "
            "applied); refusing to apply it",
            hint="Run `orgkit plan --out plan.json` again, review it, and apply the new plan.",
        )
    if saved.plan.config_fingerprint != fresh.config.fingerprint():
        raise SafetyError(
            "org.yaml, an SCP or a template changed since this plan was made (or the plan was "
            "made from another config); refusing to apply it",
            hint="Run `orgkit plan --out plan.json` again with this config, review it, and "
            "apply the new plan.",
        )
    expected = json.loads(plan_json(fresh.plan))
    if "target" not in saved.document and expected["target"] is None:
        del expected["target"]  # saved by an orgkit without --target
    if saved.document != expected:
        needed = sorted(
            {
                FLAG_OPTIONS[kind_of(change.kind).destroy_flag]
                for change in fresh.plan.held_back
                if saved.plan.changes and change.address in {c.address for c in saved.plan.changes}
            }
        )
        raise SafetyError(
            "the saved plan is not what a fresh plan would do now (the file was edited, or "
            "made with other flags); refusing to apply it",
            hint=(
                f"Changes in the file need {' '.join(needed)}; pass it to apply as well, or "
                "make a new plan."
                if needed
                else "Run `orgkit plan --out plan.json` again, review it, and apply the new plan."
            ),
        )


def _apply_target(saved: SavedPlan | None, given: Target | None) -> Target:
    """The target of an apply: the saved plan's (``--target`` may repeat it, not change it)."""
    if saved is None:
        return given or Target()
    recorded = Target.from_dict(saved.plan.target)
    if given is not None and given.to_dict() != recorded.to_dict():
        raise SafetyError(
            f"--target {given} is not the target the saved plan was made with "
            f"({str(recorded) or 'the whole organization'})",
            hint="Apply the saved plan without --target, or make a new plan with this target.",
        )
    return recorded


def check_flags(the_plan: Plan, options: PlanOptions) -> None:
    """A destructive change needs its kind's flag at apply time too, whatever made the plan."""
    for change in the_plan.changes:
        kind = kind_of(change.kind)
        if kind.is_destructive(change) and not options.allows(kind.destroy_flag):
            raise SafetyError(
                f"{change.address} is destructive",
                hint=f"Pass {FLAG_OPTIONS[kind.destroy_flag]} to apply it.",
            )


# -- templates ------------------------------------------------------------------------------
def lint_templates(
    config: Config,
    names: set[str] | None = None,
    warn: Callable[[str], None] = lambda message: None,
    progress: Progress = _silent,
) -> None:
    """cfn-lint the rendered templates (of the stack sets in ``names``, or all): errors raise
    a ConfigError, warnings go to ``warn``."""
    issues: list[ConfigIssue] = []
    chosen = [
        s
        for s in config.spec.stack_sets
        if s.name in config.templates and (names is None or s.name in names)
    ]
    for number, stack_set in enumerate(chosen, start=1):
        template = config.templates[stack_set.name]
        progress(f"Linting {stack_set.name}'s template with cfn-lint ({number} of {len(chosen)})")
        for severity, issue in lint(template, list(stack_set.regions)):
            if severity == "error":
                issues.append(issue)
            elif severity == "warning":
                warn(str(issue))
    if issues:
        raise ConfigError(issues)


def lint_changed_templates(config: Config, the_plan: Plan, progress: Progress = _silent) -> None:
    """cfn-lint the templates apply is about to send; an error stops apply before any write."""
    names = {
        stack_set_of(c) for c in the_plan.changes if c.kind == STACK_SET and c.after is not None
    }
    if names:
        lint_templates(config, names, progress=progress)


def validate(
    config_path: str | Path,
    *,
    lint: bool = True,
    warn: Callable[[str], None] = lambda message: None,
    progress: Progress = _silent,
) -> Config:
    """Load and check org.yaml, the policy files and the templates, offline."""
    config = load_config(config_path)
    if lint:
        lint_templates(config, warn=warn, progress=progress)
    return config


def render(
    config_path: str | Path,
    out_dir: Path,
    *,
    lint: bool = True,
    warn: Callable[[str], None] = lambda message: None,
) -> list[tuple[Path, RenderedTemplate]]:
    """Write every stack set's rendered template into ``out_dir``; return what was written."""
    config = validate(config_path, lint=lint, warn=warn)
    written = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, template in sorted(config.templates.items()):
            target = out_dir / f"{name}.yaml"
            target.write_text(template.body, encoding="utf-8")
            written.append((target, template))
    except OSError as exc:
        raise OrgkitError(
            f"cannot write the rendered templates to {out_dir}: {exc.strerror or exc}",
            hint="Choose a folder you can write (--out DIR).",
        ) from None
    return written


# -- apply ----------------------------------------------------------------------------------
@contextmanager
def stop_on_interrupt(notice: Callable[[str], None]) -> Iterator[threading.Event]:
    """While apply runs, a first Ctrl-C asks it to stop after the calls in flight (the event is
    set); a second one interrupts at once. Outside the main thread, Ctrl-C is left alone."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        notice("Stopping after the calls in flight (Ctrl-C again to stop at once)...")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def run_apply(
    planned: Planned,
    aws: AwsContext,
    reporter: Reporter,
    options: PlanOptions,
    *,
    lint: bool = True,
    notice: Callable[[str], None] = lambda message: None,
    stop: Callable[[], bool] | None = None,
) -> tuple[ApplyResult, Plan]:
    """Apply the fresh plan ``planned`` with the flags the user gave (``options``, checked
    again here against every destructive change); then plan again.

    Returns the result and the plan made after applying, which is empty when converged.
    """
    check_flags(planned.plan, options)
    if lint:
        lint_changed_templates(planned.config, planned.plan)
    spec = planned.config.spec
    with ExitStack() as stack:
        if stop is None:  # no caller's stop (apply's covers the lock too): Ctrl-C handled here
            stop = stack.enter_context(stop_on_interrupt(notice)).is_set
        result = apply_plan(
            planned.plan,
            aws,
            planned.live,
            reporter,
            in_flight=spec.quotas.create_account_in_flight,
            home_region=spec.organization.home_region,
            quotas=spec.quotas,
            stop_requested=stop,
        )
    target = Target.from_dict(planned.plan.target)
    after = plan(planned.config, read_live(planned.config, aws, target=target), options, target)
    return result, after


def apply(
    config_path: str | Path,
    aws: AwsContext,
    options: PlanOptions,
    reporter: Reporter,
    *,
    saved_path: Path | None = None,
    show: Callable[[Plan], None] = lambda the_plan: None,
    confirm: Callable[[Plan], bool] = lambda the_plan: True,
    notice: Callable[[str], None] = lambda message: None,
    progress: Progress = _silent,
    target: Target | None = None,
) -> tuple[Plan, ApplyResult | None, Plan | None]:
    """``orgkit apply``: plan afresh (and check a saved plan against it), show, lint the
    templates it will send, confirm, apply, plan again.

    Returns (the plan applied, the result, the plan after) — the last two None when there was
    nothing to do. A refused confirmation raises SafetyError before any write.
    """
    saved = load_saved_plan(saved_path) if saved_path is not None else None
    target = _apply_target(saved, target)
    planned = make_plan(config_path, aws, options, progress, target)
    if saved is not None:
        if already_applied(saved, planned):
            notice(
                f"{saved.path} was already applied: the organization matches org.yaml and its "
                "changes are done. Nothing to do."
            )
            return planned.plan, None, None
        check_saved_plan(saved, planned, options)
    show(planned.plan)
    if planned.plan.empty:
        return planned.plan, None, None
    lint_changed_templates(planned.config, planned.plan, progress)
    if not confirm(planned.plan):
        raise SafetyError(
            "not applied: the plan was not confirmed",
            hint="Answer y at the prompt, or pass --yes (CI, scripts).",
        )
    region = planned.config.spec.organization.home_region
    # Ctrl-C from here on stops between steps: never between taking the lock and releasing it.
    with (
        stop_on_interrupt(notice) as stop,
        lock.holding(aws, region, planned.live.organization_id, notice) as held,
    ):
        # Another apply may have run while the plan was on screen: apply only what was shown.
        fresh = make_plan(config_path, aws, options, target=target)
        if fresh.plan.canonical_changes() != planned.plan.canonical_changes():
            raise SafetyError(
                "the organization changed while the plan was shown (another apply?); nothing "
                "was applied",
                hint="Run `orgkit apply` again to see the plan as it is now.",
            )
        try:
            result, after = run_apply(
                fresh,
                aws,
                reporter,
                options,
                lint=False,
                notice=notice,
                stop=lambda: stop.is_set() or held.lost.is_set(),
            )
        except Interrupted as exc:
            if held.lost.is_set():
                raise SafetyError(
                    exc.message.replace("interrupted", "the apply lock was lost"),
                    hint="Someone removed the lock (orgkit unlock) or it expired: check that "
                    "no other apply runs, then `orgkit plan` and apply again.",
                ) from None
            raise
    return planned.plan, result, after


def unlock(
    config_path: str | Path, aws: AwsContext, confirm: Callable[[lock.LockInfo], bool]
) -> lock.LockInfo | None:
    """``orgkit unlock``: remove the organization's apply lock, after saying whose it is; only
    that lock (if it changed hands meanwhile, nothing is removed)."""
    config = load_config(config_path)
    live = read_organization_as_manager(config, aws)
    region = config.spec.organization.home_region
    held = lock.read_lock(aws, region, live.organization_id)
    if held is None:
        return None
    if not confirm(held):
        raise SafetyError("the lock was left in place", hint="Pass --yes to remove it.")
    if not lock.break_lock(aws, region, live.organization_id, held):
        raise SafetyError(
            "the lock changed hands while you were deciding; nothing was removed",
            hint="Run `orgkit unlock` again to see who holds it now.",
        )
    return held


# -- drift ----------------------------------------------------------------------------------
def audit(
    config_path: str | Path,
    aws: AwsContext,
    *,
    detect_stack_drift: bool = False,
    scope: DriftScope | None = None,
    progress: Callable[[str], None] = lambda message: None,
    reading: Progress = _silent,
) -> DriftReport:
    """``orgkit drift``: the plan's comparison with every destructive flag, as findings, kept
    to ``scope``; with ``detect_stack_drift``, CloudFormation drift detection runs first on the
    stack sets."""
    if detect_stack_drift:
        config = load_config(config_path)
        read_organization_as_manager(config, aws)
        detect_drift(
            aws,
            [s.name for s in config.spec.stack_sets if s.state == "present"],
            config.spec.organization.home_region,
            progress=progress,
        )
    scope = scope or DriftScope()
    # Reading only what the scope's accounts and OUs need: the targeted plan keeps their
    # changes and what governs them, of which the report keeps the scope's.
    planned = make_plan(
        config_path,
        aws,
        PlanOptions(allow_destroy=True, allow_close_accounts=True),
        reading,
        Target.of_filters(scope.accounts, scope.ous),
        read_only=True,
    )
    report = drift(planned.plan, planned.live)
    return scoped(report, scope, planned.config.spec, planned.live)
