"""The national axis for ``lienthong bench --queue N --queue-via vxp``: queue drain to the axis.

``start_destination(workdir, sender_units)`` serves the axis simulator (``simulator.py``)
on localhost with two centres: ``bench-hub``, the sending hub, serving ``sender_units``,
and ``bench-ministry``, serving ``UNITS`` (the bench's destinations). It returns a
``Destination``: the settings the sending hub adds (its place on the axis; the worker
polls and reconciles rarely, so the figure is the send), the codes to address, and
``stop()``. The figure: how fast the workers empty the queue with one signed ``sendEdoc``
per document, each checked and stored by the simulator.
"""

import contextlib
import secrets
from dataclasses import dataclass, field

#: agencies of another centre on the axis (ministries), the documents' recipients
UNITS = (
    ("000.00.00.G05", "Bộ Tư pháp (trục mô phỏng)"),
    ("000.00.00.G07", "Bộ Tài chính (trục mô phỏng)"),
    ("000.00.00.G12", "Bộ Xây dựng (trục mô phỏng)"),
    ("000.00.00.G17", "Bộ Giáo dục và Đào tạo (trục mô phỏng)"),
)


@dataclass
class Destination:
    url: str
    sender_settings: dict
    units: list
    simulator: object = field(repr=False, default=None)
    stack: object = field(repr=False, default=None)
    adapter_settings: dict = field(default_factory=dict)

    def stop(self):
        if self.stack is not None:
            self.stack.close()


def start_destination(workdir, sender_units):
    from .simulator import AxisSimulator, serve_axis

    secret = secrets.token_urlsafe(24)
    sim = AxisSimulator()
    sim.add_centre("bench-hub", secret)
    sim.add_centre("bench-ministry", secrets.token_urlsafe(24))
    sim.serve_codes("bench-hub", [code for code, _name in sender_units])
    sim.serve_codes("bench-ministry", [code for code, _name in UNITS])
    stack = contextlib.ExitStack()
    url = stack.enter_context(serve_axis(sim, threads=8))
    settings = {
        "lienthong.vxp.url": url,
        "lienthong.vxp.system_id": "bench-hub",
        "lienthong.vxp.secret": "bench",
        "lienthong.vxp.secret.bench": secret,
        "lienthong.vxp.poll_seconds": "3600",
        "lienthong.vxp.reconcile_seconds": "3600",
    }
    return Destination(url, settings, [code for code, _name in UNITS], simulator=sim, stack=stack)
