"""Kinds of administrative documents, how their notation is written (R3.2), and their classifications.

The names and abbreviations follow the government's rules on clerical work (Decree
30/2020/NĐ-CP, appendix I). A document's notation is ``<number>/<abbreviation>-<unit
symbol>`` ("15/QĐ-UBND"); an official letter (công văn) has no abbreviation and is
written ``<number>/<unit symbol>`` ("12/UBND").
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentType:
    code: str
    name: str
    abbreviation: str


TYPES = [
    DocumentType(*row)
    for row in (
        # legal documents a provincial hub receives from ministries and the Government
        ("ND", "Nghị định", "NĐ"),
        ("TT", "Thông tư", "TT"),
        ("TTLT", "Thông tư liên tịch", "TTLT"),
        ("NQ", "Nghị quyết", "NQ"),
        ("QD", "Quyết định", "QĐ"),
        ("CT", "Chỉ thị", "CT"),
        ("QC", "Quy chế", "QC"),
        ("QYD", "Quy định", "QyĐ"),
        ("TC", "Thông cáo", "TC"),
        ("TB", "Thông báo", "TB"),
        ("HD", "Hướng dẫn", "HD"),
        ("CTR", "Chương trình", "CTr"),
        ("KH", "Kế hoạch", "KH"),
        ("PA", "Phương án", "PA"),
        ("DA", "Đề án", "ĐA"),
        ("DAN", "Dự án", "DA"),
        ("BC", "Báo cáo", "BC"),
        ("BB", "Biên bản", "BB"),
        ("TTR", "Tờ trình", "TTr"),
        ("HDG", "Hợp đồng", "HĐ"),
        ("CV", "Công văn", ""),
        ("CD", "Công điện", "CĐ"),
        ("GN", "Bản ghi nhớ", "GN"),
        ("TTH", "Bản thỏa thuận", "TTh"),
        ("GUQ", "Giấy ủy quyền", "GUQ"),
        ("GM", "Giấy mời", "GM"),
        ("GGT", "Giấy giới thiệu", "GGT"),
        ("GNP", "Giấy nghỉ phép", "NP"),
        ("PG", "Phiếu gửi", "PG"),
        ("PC", "Phiếu chuyển", "PC"),
        ("PB", "Phiếu báo", "PB"),
        ("TCG", "Thư công", "TC"),
    )
]

BY_CODE = {t.code: t for t in TYPES}

#: the secret classifications (Mật, Tối mật, Tuyệt mật): such a document never goes through the hub (R11)
SECRET_CLASSIFICATIONS = ("Mật", "Tối mật", "Tuyệt mật")
#: what a document's ``classification`` may be: none, or one of the secret ones
CLASSIFICATIONS = ("",) + SECRET_CLASSIFICATIONS


def get(code):
    return BY_CODE.get((code or "").upper())


def notation(doc_type, unit_symbol):
    """The part after the number: "QĐ-UBND", or "UBND" for a letter without abbreviation."""
    kind = get(doc_type)
    if kind is None or not kind.abbreviation:
        return unit_symbol
    return f"{kind.abbreviation}-{unit_symbol}"
