"""Plugin edxml_push (being built)."""
