"""Plugin webhook_json (being built)."""
