"""XLSX for spreadsheets: the one writer of every Excel workbook the hub gives out (openpyxl).

``xlsx_bytes(title, header, rows)`` writes one sheet: the header row in bold and frozen,
then the rows. As in ``csvfile``, no cell is ever a formula: openpyxl takes any text that
starts with ``=`` for one, so every text is stored as a string cell (type ``s``), and a
subject ``=HYPERLINK(…)`` from another unit stays text. Numbers stay numbers.
"""

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

#: the widest a column grows, in characters (longer text wraps)
MAX_WIDTH = 60
#: the characters a sheet title cannot hold (Excel's rule), and its length
SHEET_FORBIDDEN = "[]:*?/\\"
SHEET_LENGTH = 31


def sheet_title(text):
    clean = "".join(" " if c in SHEET_FORBIDDEN else c for c in text).strip()
    return clean[:SHEET_LENGTH] or "Sheet"


def _put(sheet, row, column, value):
    cell = sheet.cell(row=row, column=column)
    if value is None:
        return cell
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        cell.value = value
    else:
        cell.value = str(value)
        cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


def xlsx_bytes(title, header, rows):
    """The workbook (bytes) of one sheet named ``title``: ``header`` then ``rows``."""
    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title(title)
    widths = [len(str(h)) for h in header]
    bold = Font(bold=True)
    for column, value in enumerate(header, 1):
        cell = _put(sheet, 1, column, value)
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for number, row in enumerate(rows, 2):
        for column, value in enumerate(row, 1):
            cell = _put(sheet, number, column, value)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if column <= len(widths):
                widths[column - 1] = max(widths[column - 1], len(str(value or "")))
    for column, width in enumerate(widths, 1):
        sheet.column_dimensions[sheet.cell(row=1, column=column).column_letter].width = min(
            width + 2, MAX_WIDTH
        )
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
