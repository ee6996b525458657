"""Views: plans (and later drift) as rich text or JSON."""
