"""Services hold the rules. They take resources and plain values, never a request."""
