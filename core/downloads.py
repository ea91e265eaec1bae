"""Files handed to a browser or an API client: always as a download, with a name both can read.

One rule for the ``Content-Disposition`` header, so a page and an API route name a file
alike: the real name in RFC 5987 form (``filename*``) and, for clients that read only
``filename``, an ASCII fallback with the accents folded away (``Phụ lục`` → ``Phu luc``,
``đ`` → ``d``) rather than replaced by marks.
"""

import unicodedata
from urllib.parse import quote

from pyramid.response import FileIter, Response


def ascii_name(name):
    """``name`` with its accents folded to ASCII, quotes and backslashes dropped; never empty."""
    folded = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in folded.encode("ascii", "ignore").decode() if c not in '"\\' and c.isprintable())
    return text or "attachment"


def content_disposition(name):
    """``attachment`` with the ASCII fallback name and the real one in RFC 5987 form."""
    return f"attachment; filename=\"{ascii_name(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_response(body_or_file, content_type, filename, size=None):
    """A download response of bytes or an open file (streamed), never cached, never sniffed."""
    if isinstance(body_or_file, bytes):
        response = Response(body=body_or_file)
    else:
        response = Response(app_iter=FileIter(body_or_file))
        if size is not None:
            response.content_length = size
    response.headers["Content-Type"] = content_type
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control = "no-store"
    return response
