"""The JSON API under /api/v1 (being written)."""


def includeme(config):
    pass
