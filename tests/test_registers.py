"""A unit's registers by Decree 30 (issue 17, R3.2): what an entry holds, the page, the print
view, the CSV and the XLSX."""

import csv
import io

from lienthong.core.services import documents as ds

from .support.app import login
from .support.demo import demo_factory  # noqa: F401  (fixture)
from .support.exchange import SNV, STTTT, actor, basic, hub, pdf_file  # noqa: F401


def issue(hub, unit=SNV, who="vanthu.snv", **extra):
    def run(site):
        doc = ds.compose(
            site,
            hub.env,
            actor(who),
            site["directory"][unit],
            basic(**extra),
            [("quyet-dinh.pdf", pdf_file(), "Quyết định")],
        )
        ds.issue(site, hub.env, actor(who), doc)
        return doc.id

    return hub.tx(run)


def as_user(web, who, lang="en"):
    web.reset()
    web.set_cookie("_LOCALE_", lang)
    login(web, who)


def csv_rows(response):
    assert response.body.startswith(b"\xef\xbb\xbf") and response.content_type == "text/csv"
    return list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))


def cell_texts(response, number):
    row = response.html.find("tr", id=f"entry-{number}")
    assert row is not None, number
    return [td.get_text(" ", strip=True) for td in row.find_all("td")]


def test_the_outgoing_register_shows_the_date_of_the_document(hub):
    """Issue 17, item 1: the entry was written before the promulgation date was set, so
    "Ngày văn bản" was "—" everywhere; it is the day of issue on the page, in print and in CSV."""
    issue(hub)
    year = hub.env.today().year
    today = hub.env.today().strftime("%d/%m/%Y")
    entry = hub.tx(
        lambda site: dict(site["directory"][SNV]["registers"].get_register(year, "out").entries[1])
    )
    assert entry["promulgation_date"] == hub.env.today().isoformat()
    assert entry["notation"] == "1/QĐ-SNV"
    web = hub.web
    as_user(web, "vanthu.snv")
    url = f"/directory/{SNV}/registers/{year}-out"
    for response in (web.get(url), web.get(url, {"print": "1"})):
        cells = cell_texts(response, 1)
        assert today in cells and "—" not in cells, cells
    rows = csv_rows(web.get(f"{url}/export.csv"))
    column = rows[0].index("Date of the document")
    assert rows[1][column] == today
