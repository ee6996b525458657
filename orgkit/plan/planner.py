"""``plan(config, live) -> Plan``: pure, no boto3, no I/O.

Every kind of :mod:`orgkit.kinds` plans its own changes; this puts them in order:
non-destructive changes by each kind's ``sort_key`` (dependencies first: policy types, OUs,
policies, guardrail attachments, accounts, account attachments, roles, budgets, each stack set
with its instances), then the destructive ones by ``destroy_key`` (stack instances and sets,
detachments, accounts, policies, OUs children first). A destructive change is held back unless
the flag its kind names was given.
"""

from __future__ import annotations

from orgkit.changes import Change, Plan, Unmanaged
from orgkit.config.loader import Config
from orgkit.kinds import REGISTRY, kind_of
from orgkit.kinds.base import PlanContext, PlanOptions
from orgkit.live.model import LiveOrg
from orgkit.plan.target import reach
from orgkit.target import Target


def plan(
    config: Config,
    live: LiveOrg,
    options: PlanOptions | None = None,
    target: Target | None = None,
) -> Plan:
    """Compare desired with live and return the ordered changes; with a ``target``, only the
    changes within it (:mod:`orgkit.plan.target`: ``live`` was read for it)."""
    options = options or PlanOptions()
    target = target or Target()
    ctx = PlanContext(config, live, options)
    changes: list[Change] = []
    unmanaged: list[Unmanaged] = []
    warnings: list[str] = []
    for kind in REGISTRY.values():
        part = kind.plan(ctx)
        changes += [
            Change(
                c.address, c.kind, c.action, c.before, c.after, destructive=kind.is_destructive(c)
            )
            for c in part.changes
        ]
        unmanaged += part.unmanaged
        warnings += part.warnings
    if not target.everything:
        within = reach(target, config.spec, live)
        changes, unmanaged = within.within(changes, unmanaged)
        warnings = [
            f"Targeted plan ({target}): only the changes of these accounts and OUs and of what "
            "governs them were planned; the rest of org.yaml was not compared. Plan without "
            "--target to see everything.",
            *within.reach_notes(changes),
            *warnings,
        ]
    constructive = sorted(
        (c for c in changes if not c.destructive), key=lambda c: kind_of(c.kind).sort_key(c, ctx)
    )
    destructive = sorted(
        (c for c in changes if c.destructive), key=lambda c: kind_of(c.kind).destroy_key(c)
    )
    allowed = [c for c in destructive if options.allows(kind_of(c.kind).destroy_flag)]
    held = [c for c in destructive if not options.allows(kind_of(c.kind).destroy_flag)]
    return Plan(
        changes=tuple(constructive + allowed),
        held_back=tuple(held),
        unmanaged=tuple(sorted(unmanaged, key=lambda u: u.address)),
        warnings=tuple(warnings),
        live_fingerprint=live.fingerprint(),
        config_fingerprint=config.fingerprint(),
        management_account_id=live.management_account_id,
        flags=options.to_flags(),
        target=target.to_dict(),
    )
