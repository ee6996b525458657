"""Pure planning: compare desired (Config) with live (LiveOrg) into an ordered Plan."""

from orgkit.plan.model import Action, Change, Kind, Plan, Unmanaged
from orgkit.plan.planner import PlanOptions, plan

__all__ = ["Action", "Change", "Kind", "Plan", "PlanOptions", "Unmanaged", "plan"]
