"""Sending e-mail over SMTP, with the standard library (the daily digest, R8.1).

Why smtplib and not pyramid_mailer: pyramid_mailer's transactional ``send`` hands each mail
to repoze.sendmail, which sends in the transaction's ``tpc_finish``, after the database has
committed: a mail server that is down leaves the reminders marked and the mail unsent, the
error only logged. Sending from inside two-phase commit instead (``tpc_vote``) would hold the
storage's commit lock, and so every other writer of the site, while mails go out. Its
``send_immediately`` is a thin wrapper over smtplib, and the package has had no release since
2016. So the caller sends with :class:`Mailer` inside its transaction, before the commit: a
server that cannot be reached raises :class:`MailError` and the caller aborts.

Settings (``[app:main]``): ``lienthong.mail.host`` (localhost), ``.port`` (25), ``.sender``
(lienthong@localhost), ``.tls`` (false; true = STARTTLS, ``ssl`` = TLS from the start, as on
port 465), ``.username`` and ``.password`` (optional: SMTP AUTH, only over TLS),
``.timeout`` (seconds, 30).
"""

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

PREFIX = "lienthong.mail."


class MailError(Exception):
    """A mail that could not be handed to the server, said in one line naming host:port.

    ``fatal`` is false when only this message's recipient was refused: the server works,
    the other mails can still go.
    """

    def __init__(self, message, fatal=True):
        super().__init__(message)
        self.fatal = fatal


def _asbool(value):
    return str(value).strip().lower() in ("true", "yes", "on", "1")


def _tls_mode(value):
    text = str(value or "").strip().lower()
    if text in ("ssl", "smtps", "tls-wrapper"):
        return "ssl"
    if text == "starttls" or _asbool(text):
        return "starttls"
    if text in ("", "false", "no", "off", "0"):
        return ""
    raise ValueError(f"{PREFIX}tls = {value}: use false, true (STARTTLS) or ssl")


@dataclass(frozen=True)
class MailConfig:
    host: str = "localhost"
    port: int = 25
    sender: str = "lienthong@localhost"
    tls: str = ""
    username: str = ""
    password: str = ""
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings):
        """Read ``lienthong.mail.*``; a malformed value raises ValueError naming the setting."""
        settings = settings or {}

        def get(name, default):
            value = settings.get(PREFIX + name)
            return default if value is None or str(value).strip() == "" else str(value).strip()

        try:
            port = int(get("port", 25))
            timeout = float(get("timeout", 30))
        except ValueError:
            raise ValueError(f"{PREFIX}port and {PREFIX}timeout are numbers") from None
        if not 0 < port < 65536:
            raise ValueError(f"{PREFIX}port = {port}: not a TCP port")
        return cls(
            host=get("host", "localhost"),
            port=port,
            sender=get("sender", "lienthong@localhost"),
            tls=_tls_mode(get("tls", "")),
            username=get("username", ""),
            password=str(settings.get(PREFIX + "password") or ""),
            timeout=timeout,
        )

    @property
    def where(self):
        return f"{self.host}:{self.port}"


def _reason(exc):
    """The server's or the system's words, on one line."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = []
        for address, (code, text) in exc.recipients.items():
            parts.append(f"{address} refused ({code} {_decode(text)})")
        reason = "; ".join(parts)
    elif isinstance(exc, smtplib.SMTPSenderRefused):
        reason = f"sender {exc.sender} refused ({exc.smtp_code} {_decode(exc.smtp_error)})"
    elif isinstance(exc, smtplib.SMTPResponseException):
        reason = f"{exc.smtp_code} {_decode(exc.smtp_error)}"
    elif isinstance(exc, socket.gaierror):
        reason = f"unknown host ({exc.strerror or exc})"
    elif isinstance(exc, (socket.timeout, TimeoutError)):
        reason = "no answer (timed out)"
    elif isinstance(exc, ssl.SSLError):
        reason = f"TLS failed ({exc.reason or exc})"
    elif isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror
    else:
        reason = str(exc) or type(exc).__name__
    return " ".join(reason.split())


def _decode(text):
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def build_message(config, to_address, subject, text, html=None, to_name=""):
    """A UTF-8 message from ``config.sender`` to one person: plain text, and HTML as an alternative."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config.sender
    try:
        message["To"] = Address(display_name=to_name, addr_spec=to_address) if to_name else to_address
    except (ValueError, IndexError):  # an address the header parser cannot split: send it as it is
        message["To"] = to_address
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=config.sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the hub
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


class Mailer:
    """One SMTP session for a batch of mails: ``with Mailer(config) as m: m.send(message)``.

    Connecting, TLS and login happen on entering; any failure there, or a server that
    drops the connection, is a fatal :class:`MailError`; a recipient the server refuses
    is a non-fatal one.
    """

    def __init__(self, config):
        self.config = config
        self._smtp = None

    def _fail(self, exc, fatal=True):
        return MailError(f"cannot send mail through {self.config.where}: {_reason(exc)}", fatal=fatal)

    def __enter__(self):
        config = self.config
        try:
            if config.tls == "ssl":
                smtp = smtplib.SMTP_SSL(
                    config.host, config.port, timeout=config.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
            try:
                smtp.ehlo_or_helo_if_needed()
                if config.tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if config.username:
                    if not config.tls:
                        raise smtplib.SMTPException(
                            "a user name is set but not lienthong.mail.tls: "
                            "the password would travel in clear"
                        )
                    smtp.login(config.username, config.password)
            except BaseException:
                smtp.close()
                raise
        except (OSError, smtplib.SMTPException) as exc:
            raise self._fail(exc) from exc
        self._smtp = smtp
        return self

    def send(self, message):
        if self._smtp is None:
            raise RuntimeError("use the Mailer as a context manager")
        try:
            self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise self._fail(exc, fatal=False) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise self._fail(exc) from exc

    def __exit__(self, *exc_info):
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return False
