"""People's words for the coded values of a document's metadata (edXML's numbers), one place
for every page that shows them: the compose form, the document page, the mailbox lists."""

from ..i18n import _
from ..resources import documents as docs

#: edXML OtherInfo/Priority: 0 normal … 4 express on time (Độ khẩn)
PRIORITY_TITLES = {
    0: _("Normal"),
    1: _("Urgent"),
    2: _("Very urgent"),
    3: _("Express"),
    4: _("Express, on time"),
}
#: edXML SteeringType (Loại chỉ đạo)
STEERING_TITLES = {0: _("None"), 1: _("Direction"), 2: _("Report")}
#: edXML BusinessDocType: what a package does to the documents it names
BUSINESS_TITLES = {
    docs.NEW: _("New document"),
    docs.REVOKE: _("Revocation"),
    docs.UPDATE: _("Update"),
    docs.REPLACE: _("Replacement"),
}
