"""The demo province: a realistic directory and a few users in each role.

Used by ``lienthong init --demo`` and ``make serve`` so a new user sees a living site.
"""
from ..resources.directory import Organization
from .. import security as sec
from . import accounts, audit
from .passwords import hash_password

PROVINCE = "H49"

# (code, name, short name, kind, parent code)
UNITS = [
    ("000.00.00.H49", "Ủy ban nhân dân tỉnh Bà Rịa – Vũng Tàu", "UBND tỉnh", "province", None),
    ("000.00.01.H49", "Văn phòng Ủy ban nhân dân tỉnh", "VP UBND tỉnh", "agency", "000.00.00.H49"),
    ("000.00.02.H49", "Sở Nội vụ", "SNV", "department", "000.00.00.H49"),
    ("000.00.03.H49", "Sở Tư pháp", "STP", "department", "000.00.00.H49"),
    ("000.00.04.H49", "Sở Kế hoạch và Đầu tư", "SKHĐT", "department", "000.00.00.H49"),
    ("000.00.05.H49", "Sở Tài chính", "STC", "department", "000.00.00.H49"),
    ("000.00.06.H49", "Sở Công Thương", "SCT", "department", "000.00.00.H49"),
    ("000.00.07.H49", "Sở Nông nghiệp và Phát triển nông thôn", "SNNPTNT", "department", "000.00.00.H49"),
    ("000.00.08.H49", "Sở Giao thông vận tải", "SGTVT", "department", "000.00.00.H49"),
    ("000.00.09.H49", "Sở Xây dựng", "SXD", "department", "000.00.00.H49"),
    ("000.00.10.H49", "Sở Tài nguyên và Môi trường", "STNMT", "department", "000.00.00.H49"),
    ("000.00.11.H49", "Sở Lao động – Thương binh và Xã hội", "SLĐTBXH", "department", "000.00.00.H49"),
    ("000.00.12.H49", "Sở Thông tin và Truyền thông", "STTTT", "operator", "000.00.00.H49"),
    ("000.00.13.H49", "Sở Văn hóa và Thể thao", "SVHTT", "department", "000.00.00.H49"),
    ("000.00.14.H49", "Sở Du lịch", "SDL", "department", "000.00.00.H49"),
    ("000.00.15.H49", "Sở Khoa học và Công nghệ", "SKHCN", "department", "000.00.00.H49"),
    ("000.00.16.H49", "Sở Giáo dục và Đào tạo", "SGDĐT", "department", "000.00.00.H49"),
    ("000.00.17.H49", "Sở Y tế", "SYT", "department", "000.00.00.H49"),
    ("000.00.18.H49", "Thanh tra tỉnh", "TTT", "department", "000.00.00.H49"),
    ("000.00.19.H49", "Ban Dân tộc tỉnh", "BDT", "department", "000.00.00.H49"),
    ("000.00.20.H49", "Ban Quản lý các Khu công nghiệp", "BQLKCN", "agency", "000.00.00.H49"),
    ("000.00.31.H49", "Ủy ban nhân dân thành phố Vũng Tàu", "UBND TP Vũng Tàu", "district", "000.00.00.H49"),
    ("000.00.32.H49", "Ủy ban nhân dân thành phố Bà Rịa", "UBND TP Bà Rịa", "district", "000.00.00.H49"),
    ("000.00.33.H49", "Ủy ban nhân dân thị xã Phú Mỹ", "UBND TX Phú Mỹ", "district", "000.00.00.H49"),
    ("000.00.34.H49", "Ủy ban nhân dân huyện Châu Đức", "UBND H. Châu Đức", "district", "000.00.00.H49"),
    ("000.00.35.H49", "Ủy ban nhân dân huyện Xuyên Mộc", "UBND H. Xuyên Mộc", "district", "000.00.00.H49"),
    ("000.00.36.H49", "Ủy ban nhân dân huyện Long Điền", "UBND H. Long Điền", "district", "000.00.00.H49"),
    ("000.00.37.H49", "Ủy ban nhân dân huyện Đất Đỏ", "UBND H. Đất Đỏ", "district", "000.00.00.H49"),
    ("000.00.38.H49", "Ủy ban nhân dân huyện Côn Đảo", "UBND H. Côn Đảo", "district", "000.00.00.H49"),
    ("000.01.31.H49", "Văn phòng HĐND và UBND thành phố Vũng Tàu", "VP TP Vũng Tàu", "agency", "000.00.31.H49"),
    ("000.02.31.H49", "Phòng Nội vụ thành phố Vũng Tàu", "PNV TP Vũng Tàu", "agency", "000.00.31.H49"),
    ("000.01.34.H49", "Ủy ban nhân dân thị trấn Ngãi Giao", "UBND TT Ngãi Giao", "commune", "000.00.34.H49"),
]

OPERATOR_CODE = "000.00.12.H49"

# (login, full name, unit code, roles, position)
USERS = [
    ("admin", "Quản trị hệ thống", OPERATOR_CODE, (sec.SYSTEM_ADMIN,), "Quản trị viên"),
    ("kiemtoan", "Lê Thị Thu Hà", OPERATOR_CODE, (sec.AUDITOR,), "Kiểm soát viên"),
    ("quantri.stttt", "Phạm Quốc Bảo", OPERATOR_CODE, (sec.UNIT_ADMIN,), "Cán bộ CNTT"),
    ("vanthu.stttt", "Nguyễn Thị Mai", OPERATOR_CODE, (sec.CLERK,), "Văn thư"),
    ("lanhdao.stttt", "Trần Văn Hùng", OPERATOR_CODE, (sec.LEADER,), "Giám đốc"),
    ("chuyenvien.stttt", "Võ Minh Tuấn", OPERATOR_CODE, (sec.SPECIALIST,), "Chuyên viên"),
    ("vanthu.snv", "Đỗ Thị Hồng", "000.00.02.H49", (sec.CLERK,), "Văn thư"),
    ("lanhdao.snv", "Hoàng Đức Thắng", "000.00.02.H49", (sec.LEADER,), "Phó Giám đốc"),
    ("chuyenvien.snv", "Bùi Thanh Tâm", "000.00.02.H49", (sec.SPECIALIST,), "Chuyên viên"),
    ("vanthu.vungtau", "Huỳnh Thị Lan", "000.00.31.H49", (sec.CLERK,), "Văn thư"),
    ("lanhdao.vungtau", "Ngô Văn Phúc", "000.00.31.H49", (sec.LEADER,), "Chủ tịch"),
    ("chuyenvien.vungtau", "Đặng Ngọc Anh", "000.00.31.H49", (sec.SPECIALIST,), "Chuyên viên"),
]


def populate(site, password):
    """Add the demo units and users unless they exist; return the number of users added."""
    actor = audit.Actor.system("demo")
    directory = site["directory"]
    for code, name, short, kind, parent in UNITS:
        if code not in directory:
            directory.add(code, Organization(code, name, short, kind, parent))
    audit.record(site, actor, "directory.demo_import", "/directory", units=len(UNITS))
    added = 0
    shared_hash = hash_password(password)  # one argon2 hash for the shared demo password
    for login, fullname, unit, roles, position in USERS:
        if login in site["users"]:
            continue
        user = accounts.add_user(site, actor, login, fullname, None, unit, roles, position,
                                 email=f"{login}@demo.lienthong.vn", password_hash=shared_hash)
        user.must_change_password = False
        added += 1
    return added
