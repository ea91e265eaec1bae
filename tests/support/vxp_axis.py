"""The national axis simulator for the tests: ``lienthong.plugins.vxp.simulator`` (it ships
with the plugin so that ``lienthong bench --queue N --queue-via vxp`` can drain to it too;
it imports nothing from ``lienthong`` and shares no code with the plugin's client)."""

from lienthong.plugins.vxp import simulator as _simulator
from lienthong.plugins.vxp.simulator import *  # noqa: F403

ROUTES = _simulator.ROUTES
VN = _simulator.VN
