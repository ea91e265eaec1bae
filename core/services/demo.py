"""The demo province: a realistic directory and a few users in each role.

Used by ``lienthong init --demo`` and ``make serve`` so a new user sees a living site.
"""

from datetime import date, timedelta

from .. import permissions as sec
from ..resources import directory as d
from ..resources.directory import Organization
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
    (
        "000.01.31.H49",
        "Văn phòng HĐND và UBND thành phố Vũng Tàu",
        "VP TP Vũng Tàu",
        "agency",
        "000.00.31.H49",
    ),
    ("000.02.31.H49", "Phòng Nội vụ thành phố Vũng Tàu", "PNV TP Vũng Tàu", "agency", "000.00.31.H49"),
    ("000.01.34.H49", "Ủy ban nhân dân thị trấn Ngãi Giao", "UBND TT Ngãi Giao", "commune", "000.00.34.H49"),
]

OPERATOR_CODE = "000.00.12.H49"

# R11 roadmap of the demo units: most went official in 2025 after their two-month pilot;
# two are in pilot (one started long enough ago that it shows as "pilot ended, not yet
# official"); the rest are not connected. Pilot dates of the two current pilots are
# relative to the day the demo is made, so the demo stays meaningful.
# code -> (eOffice product, pilot start, official since)
OFFICIAL = {
    "000.00.00.H49": ("VNPT iOffice", "2025-03-03", "2025-05-05"),
    "000.00.01.H49": ("VNPT iOffice", "2025-03-03", "2025-05-05"),
    "000.00.02.H49": ("VNPT iOffice", "2025-03-03", "2025-05-05"),
    "000.00.03.H49": ("VNPT iOffice", "2025-04-01", "2025-06-02"),
    "000.00.04.H49": ("VNPT iOffice", "2025-04-01", "2025-06-02"),
    "000.00.05.H49": ("VNPT iOffice", "2025-04-01", "2025-06-02"),
    "000.00.06.H49": ("Viettel VOffice", "2025-04-01", "2025-06-02"),
    "000.00.07.H49": ("Viettel VOffice", "2025-05-05", "2025-07-07"),
    "000.00.08.H49": ("Viettel VOffice", "2025-05-05", "2025-07-07"),
    "000.00.09.H49": ("Viettel VOffice", "2025-05-05", "2025-07-07"),
    "000.00.10.H49": ("VNPT iOffice", "2025-05-05", "2025-07-07"),
    "000.00.11.H49": ("VNPT iOffice", "2025-06-02", "2025-08-04"),
    "000.00.12.H49": ("VNPT iOffice", "2025-03-03", "2025-05-05"),
    "000.00.13.H49": ("VNPT iOffice", "2025-06-02", "2025-08-04"),
    "000.00.15.H49": ("FPT eOffice", "2025-06-02", "2025-08-04"),
    "000.00.17.H49": ("FPT eOffice", "2025-06-02", "2025-08-04"),
    "000.00.18.H49": ("VNPT iOffice", "2025-07-01", "2025-09-01"),
    "000.00.20.H49": ("Viettel VOffice", "2025-07-01", "2025-09-01"),
    "000.00.31.H49": ("VNPT iOffice", "2025-08-04", "2025-10-06"),
    "000.00.32.H49": ("VNPT iOffice", "2025-08-04", "2025-10-06"),
    "000.00.34.H49": ("Viettel VOffice", "2025-09-01", "2025-11-03"),
    "000.00.35.H49": ("Viettel VOffice", "2025-09-01", "2025-11-03"),
    "000.00.36.H49": ("VNPT iOffice", "2025-10-01", "2025-12-01"),
    "000.00.37.H49": ("VNPT iOffice", "2025-10-01", "2025-12-01"),
    "000.01.31.H49": ("VNPT iOffice", "2025-08-04", "2025-10-06"),
    "000.02.31.H49": ("VNPT iOffice", "2025-08-04", "2025-10-06"),
}
# code -> (eOffice product, days since the pilot started)
PILOT = {
    "000.00.33.H49": ("Viettel VOffice", 75),  # two months are over: shows as overdue
    "000.00.16.H49": ("FPT eOffice", 20),
}
# not connected yet: 000.00.14.H49, 000.00.19.H49, 000.00.38.H49, 000.01.34.H49

# (login, full name, unit code, roles, position)
USERS = [
    ("admin", "Quản trị hệ thống", OPERATOR_CODE, (sec.SYSTEM_ADMIN,), "Quản trị viên"),
    ("kiemtoan", "Lê Thị Thu Hà", OPERATOR_CODE, (sec.AUDITOR,), "Kiểm soát viên"),
    ("quantri.stttt", "Phạm Quốc Bảo", OPERATOR_CODE, (sec.UNIT_ADMIN,), "Cán bộ CNTT"),
    ("vanthu.stttt", "Nguyễn Thị Mai", OPERATOR_CODE, (sec.CLERK,), "Văn thư"),
    ("lanhdao.stttt", "Trần Văn Hùng", OPERATOR_CODE, (sec.LEADER,), "Giám đốc"),
    ("chuyenvien.stttt", "Võ Minh Tuấn", OPERATOR_CODE, (sec.SPECIALIST,), "Chuyên viên"),
    ("quantri.snv", "Lý Thị Ngọc Hân", "000.00.02.H49", (sec.UNIT_ADMIN,), "Cán bộ CNTT"),
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
    added_units = []
    for code, name, short, kind, parent in UNITS:
        if code not in directory:
            directory.add(code, Organization(code, name, short, kind, parent))
            added_units.append(directory[code])
    audit.record(site, actor, "directory.demo_import", "/directory", units=len(UNITS))
    # the roadmap is written as history (like the units themselves), not as audited changes
    today = date.today()
    for unit in added_units:
        if unit.code in OFFICIAL:
            product, pilot_start, official = OFFICIAL[unit.code]
            steps = [(d.PILOT, pilot_start), (d.OFFICIAL, official)]
        elif unit.code in PILOT:
            product, days = PILOT[unit.code]
            steps = [(d.PILOT, (today - timedelta(days=days)).isoformat())]
        else:
            continue
        unit.eoffice_product = product
        for state, on in steps:
            unit.connection_history.append(
                {
                    "state": state,
                    "date": on,
                    "actor": actor.login,
                    "note": "demo",
                    "previous": unit.connection_state,
                }
            )
            unit.connection_state = state
        unit.pilot_start = steps[0][1]
        directory.reindex(unit)
    added = 0
    shared_hash = hash_password(password)  # one argon2 hash for the shared demo password
    for login, fullname, unit, roles, position in USERS:
        if login in site["users"]:
            continue
        user = accounts.add_user(
            site,
            actor,
            login,
            fullname,
            None,
            unit,
            roles,
            position,
            email=f"{login}@demo.lienthong.vn",
            password_hash=shared_hash,
        )
        user.must_change_password = False
        added += 1
    return added


def populate_documents(site, env):
    """A few documents in every state, so a new user of the demo sees a living exchange.

    Needs the application's ``Env`` (calendar, attachment store, plugins, catalog events),
    so ``lienthong init --demo`` calls it with the application built; returns how many
    documents it issued.
    """
    import io
    from datetime import timedelta

    from . import deliveries, documents as ds

    if len(site["documents"]):
        return 0
    directory = site["directory"]
    pdf = (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] "
        b"/Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )

    def person(login):
        return audit.Actor(login=login)

    def issue(login, unit_code, files=(), **data):
        clerk = person(login)
        doc = ds.compose(
            site,
            env,
            clerk,
            directory[unit_code],
            data,
            [(name, io.BytesIO(pdf + text.encode()), description) for name, text, description in files],
        )
        return ds.issue(site, env, clerk, doc)

    snv, stttt, vungtau = "000.00.02.H49", OPERATOR_CODE, "000.00.31.H49"
    plan = issue(
        "vanthu.snv",
        snv,
        [("quyet-dinh.pdf", "%quyet dinh", "Quyết định")],
        doc_type="QD",
        subject="Quyết định ban hành Quy chế công tác văn thư, lưu trữ năm 2026",
        content="Ban hành kèm theo Quyết định này Quy chế công tác văn thư, lưu trữ của các cơ quan.",
        signer_name="Hoàng Đức Thắng",
        signer_position="Phó Giám đốc",
        signer_competence="KT. GIÁM ĐỐC",
        recipients=[stttt, vungtau],
    )
    delivery = plan.delivery_for(stttt)
    deliveries.act(site, env, person("vanthu.stttt"), delivery, "accept")
    deliveries.act(
        site,
        env,
        person("lanhdao.stttt"),
        delivery,
        "assign",
        assignees=["chuyenvien.stttt"],
        note="Nghiên cứu, tham mưu triển khai",
    )
    deliveries.act(site, env, person("chuyenvien.stttt"), delivery, "start")
    issue(
        "vanthu.stttt",
        stttt,
        [("ke-hoach.pdf", "%ke hoach", "Kế hoạch")],
        doc_type="KH",
        subject="Kế hoạch chuyển đổi số tỉnh Bà Rịa – Vũng Tàu năm 2026",
        content="Triển khai các nhiệm vụ chuyển đổi số trọng tâm; kết nối liên thông văn bản điện tử.",
        signer_name="Trần Văn Hùng",
        signer_position="Giám đốc",
        groups=["all_districts"],
    )
    issue(
        "vanthu.vungtau",
        vungtau,
        [("bao-cao.pdf", "%bao cao", "Báo cáo")],
        doc_type="BC",
        subject="Báo cáo tình hình sử dụng văn bản điện tử quý III/2026",
        content="Số liệu văn bản đi, đến qua hệ thống liên thông trong quý.",
        signer_name="Ngô Văn Phúc",
        signer_position="Chủ tịch",
        recipients=[stttt],
        due_date=(env.today() - timedelta(days=3)).isoformat(),
    )
    issue(
        "vanthu.snv",
        snv,
        doc_type="CV",
        subject="Về việc cử cán bộ tham dự tập huấn chữ ký số",
        content="Đề nghị cử 01 cán bộ văn thư tham dự lớp tập huấn.",
        signer_name="Hoàng Đức Thắng",
        signer_position="Phó Giám đốc",
        recipients=[stttt],
        persons=["chuyenvien.stttt"],
        files=[("giay-moi.pdf", "%giay moi", "Giấy mời")],
    )
    return 4
