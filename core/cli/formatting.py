"""How the commands write numbers for people: counted words and byte sizes."""


def count(n, word, plural=None):
    """``1 attachment``, ``2 attachments`` (``plural`` when adding an s is wrong: batch, batches)."""
    return f"{n} {word}" if n == 1 else f"{n} {plural or word + 's'}"


def size(n):
    """Bytes in decimal units: ``512 B``, ``1.5 MB``."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
