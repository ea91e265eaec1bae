"""Persistent resources: the traversal tree. Nothing here knows about requests."""
