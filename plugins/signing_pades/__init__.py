"""Plugin signing_pades (being built)."""
