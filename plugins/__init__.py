"""Plugins that ship with LienThong, one sub-package each, registered by entry point."""
