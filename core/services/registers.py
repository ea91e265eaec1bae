"""Numbering in a unit's registers (R3.2): every incoming and outgoing document gets the next number.

The number is taken in the same transaction as the act it records (issuing, accepting),
so an aborted act gives its number back and a committed one keeps it: numbers never
repeat and never skip.
"""


def take_number(unit, direction, year, entry):
    """File ``entry`` in ``unit``'s register for ``year`` and return its number."""
    return unit["registers"].get_register(year, direction).take(entry)


def complete_entry(unit, direction, year, number, values):
    """Write ``values`` into entry ``number``, in the transaction that took the number."""
    unit["registers"].get_register(year, direction).complete(number, values)


def get_register(unit, year, direction):
    return unit["registers"].get_register(year, direction, create=False)


def years(unit):
    """The years that have a register, newest first."""
    return sorted({int(name.split("-")[0]) for name in unit["registers"].keys()}, reverse=True)
