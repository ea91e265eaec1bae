"""Templates, static files and translations, in layers (see lienthong.core.skins)."""
