"""Password hashing with argon2id (argon2-cffi) and the password policy."""

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..errors import ServiceError
from ..i18n import _

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@functools.lru_cache(maxsize=1)
def _dummy_hash():
    """Verified against when the login is unknown, so both paths cost the same time."""
    return _hasher.hash(secrets.token_urlsafe(16))


MIN_LENGTH = 10
COMMON = frozenset(
    {
        "1234567890",
        "12345678910",
        "0123456789",
        "qwertyuiop",
        "password123",
        "matkhau123",
        "abc1234567",
        "11111111111",
        "1111111111",
        "admin12345",
        "administrator",
        "iloveyou12",
        "password1234",
        "passw0rd123",
        "0987654321",
        "qwerty12345",
        "a123456789",
        "123456789a",
    }
)


class PasswordPolicyError(ServiceError):
    """A password the policy refuses; the message says which rule."""

    def __init__(self, message, field="password", **mapping):
        super().__init__(message, field=field, **mapping)


def hash_password(password):
    return _hasher.hash(password)


def verify_password(password_hash, password):
    """True when ``password`` matches; never raises for a bad or missing hash."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_policy(password, login=""):
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(_("The password must have at least ${count} characters."), count=MIN_LENGTH)
    if login and password.lower() == login.lower():
        raise PasswordPolicyError(_("The password must not be the login."))
    if password.lower() in COMMON:
        raise PasswordPolicyError(_("The password is too common; choose another."))


def random_password():
    return secrets.token_urlsafe(12)
