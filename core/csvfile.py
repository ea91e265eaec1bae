"""CSV for spreadsheets: the one writer of every CSV the hub gives out, and its cells read back.

Every export (the directory, whole at ``/manage/directory/export.csv`` and ``lienthong
directory export``, public at ``/directory/export.csv``; a unit's registers) is written by
``csv_text``: UTF-8 with a byte order mark (so that Excel reads Vietnamese names right),
commas, CRLF, quotes where a cell needs them.

A text cell that a spreadsheet would evaluate as a formula — one that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return (OWASP, "CSV injection") — is written with
a leading apostrophe: spreadsheets show it as text and never evaluate it, so a unit's
address ``=HYPERLINK(…)`` stays an address. A cell that starts with an apostrophe gets one
more, so that ``cell_value`` gives back exactly what was written (the directory import
reads its own export unchanged). Numbers are written as they are.
"""

import csv
import io

#: what makes a spreadsheet evaluate a cell (OWASP CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def cell(value):
    """``value`` as a CSV cell a spreadsheet never evaluates (numbers stay numbers)."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value)
    return QUOTE + text if text[:1] in FORMULA_STARTS + (QUOTE,) else text


def cell_value(text):
    """The value a cell written by ``cell`` stood for (one leading apostrophe of protection off)."""
    if text[:1] == QUOTE and text[1:2] in FORMULA_STARTS + (QUOTE,):
        return text[1:]
    return text


def csv_text(header, rows):
    """The CSV text (with its byte order mark) of ``header`` and ``rows``, every cell through ``cell``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return "\ufeff" + out.getvalue()
