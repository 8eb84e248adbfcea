"""E-mail addresses of users, checked and normalised with ``email-validator`` (the
library behind pydantic's ``EmailStr``): RFC 5321/5322 syntax, internationalised
addresses (RFC 6531), the domain's IDNA form. Deliverability (DNS) is not checked:
tocsin may run without internet."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from tocsin.accounts.errors import FieldError
from tocsin.catalogs import N_


def normalized_email(text: str | None) -> str | None:
    """The normalised address, None for none, or :class:`FieldError`."""
    if text is None or not text.strip():
        return None
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise FieldError(
            "email",
            N_("%(address)r is not a valid e-mail address; expected name@domain.example"),
            address=text.strip(),
        ) from None
