"""Plugin hotfolder (being built)."""
