"""Execute a Plan through the handlers each kind declares."""

from orgkit.apply.executor import ApplyResult, apply_plan
from orgkit.kinds.base import Reporter

__all__ = ["ApplyResult", "Reporter", "apply_plan"]
