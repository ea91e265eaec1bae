"""Which hub serves a unit: this one, or a peer (a directory entry with the adapter ``peer_hub``)."""

ADAPTER = "peer_hub"


def hosted_here(unit):
    """Served by this hub: in its own mailbox, or through a local eOffice adapter (not through a peer)."""
    return unit is not None and unit.is_active() and unit.adapter != ADAPTER


def peer_of(unit):
    """The peer hub that serves ``unit``, or "" when it is not a peer's unit."""
    if unit is None or unit.adapter != ADAPTER:
        return ""
    return (unit.adapter_settings or {}).get("peer", "")


def hosted_by(unit, peer_name):
    return bool(peer_name) and peer_of(unit) == peer_name
