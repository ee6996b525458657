"""Pure planning: compare desired (Config) with live (LiveOrg) into an ordered Plan."""

from orgkit.changes import Action, Change, Plan, Unmanaged
from orgkit.kinds.base import PlanOptions
from orgkit.plan.planner import plan

__all__ = ["Action", "Change", "Plan", "PlanOptions", "Unmanaged", "plan"]
