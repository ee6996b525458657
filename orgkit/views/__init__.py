"""Views: plans, drift and the organization as rich text or JSON."""
