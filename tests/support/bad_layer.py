"""Test-only include: a skin layer whose directory does not exist (start-up must refuse it)."""


def includeme(config):
    config.include("lienthong.core.skins")
    config.add_skin_layer("bad", "tests.support:no_such_dir")
