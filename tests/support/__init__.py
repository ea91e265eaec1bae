"""Test helpers and test-only includes (``pyramid.includes = tests.support.<module>``)."""
