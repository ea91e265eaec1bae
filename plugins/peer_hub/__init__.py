"""Plugin peer_hub (being built)."""
