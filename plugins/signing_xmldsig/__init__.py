"""Plugin signing_xmldsig (being built)."""
