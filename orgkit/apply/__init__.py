"""Execute a Plan: the only place besides live/ where AWS is written to."""

from orgkit.apply.executor import ApplyResult, Reporter, apply_plan

__all__ = ["ApplyResult", "Reporter", "apply_plan"]
