"""Security primitives: password hashes, API tokens, session tokens, CSRF tokens.

Nothing here touches the database; the account service stores what these functions
return. The choices follow the OWASP cheat sheets:

- Passwords (OWASP Password Storage Cheat Sheet): argon2id through ``argon2-cffi`` with
  its RFC 9106 "low memory" profile (t=3, m=64 MiB, p=4); hashes are rehashed on login
  when the parameters change.
- API tokens and browser session tokens: 32 random bytes from :mod:`secrets`, shown once
  and stored only as their SHA-256 digest, so a stolen database does not yield working
  credentials. A high-entropy random token needs no slow hash.
- CSRF (OWASP CSRF Prevention Cheat Sheet, "signed double-submit cookie"): each browser
  holds a random nonce in an HttpOnly cookie; forms carry ``HMAC(secret, nonce)``. An
  attacker's page can neither read the cookie nor compute the HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

#: Prefix of API tokens, so that a leaked token is recognisable in logs and scanners.
API_TOKEN_PREFIX = "tsn_"

_hasher = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
_dummy: dict[int, str] = {}


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash new passwords with ``hasher`` (tests use cheaper parameters); returns the old."""
    global _hasher
    old, _hasher = _hasher, hasher
    return old


def _dummy_hash() -> str:
    """A hash of a random password with the current parameters, verified against when
    the user does not exist, so that the response time does not reveal which user names
    exist (OWASP Authentication Cheat Sheet)."""
    key = id(_hasher)
    if key not in _dummy:
        _dummy[key] = _hasher.hash(secrets.token_urlsafe(16))
    return _dummy[key]


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string format) of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; ``None`` burns the same time."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether ``password_hash`` was made with other parameters than the current ones."""
    return _hasher.check_needs_rehash(password_hash)


def new_token(prefix: str = "") -> str:
    """A new random token (256 bits, URL-safe), optionally prefixed."""
    return prefix + secrets.token_urlsafe(32)


def new_api_token() -> str:
    """A new API token, to show its owner once."""
    return new_token(API_TOKEN_PREFIX)


def token_digest(token: str) -> str:
    """The SHA-256 hex digest of ``token``: what the database stores."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(secret: str, nonce: str) -> str:
    """The CSRF token that forms of the browser holding ``nonce`` must carry."""
    return hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret: str, nonce: str | None, token: str | None) -> bool:
    """Whether ``token`` is the CSRF token of ``nonce`` (constant-time comparison)."""
    if not nonce or not token:
        return False
    return hmac.compare_digest(csrf_token(secret, nonce), token)
