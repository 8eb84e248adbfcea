"""User names, passwords and e-mail addresses: what is refused and why (issue 18)."""

from __future__ import annotations

import pytest

from tocsin.accounts.emails import normalized_email
from tocsin.accounts.errors import FieldError
from tocsin.accounts.passwords import check_password
from tocsin.accounts.usernames import canonical_username, lookalike_key


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("Officer_9162", "officer_9162"),
        ("ＡＤＭＩＮ", "admin"),  # full width
        ("  alice ", "alice"),
        ("张三", "张三"),
        ("田中さん", "田中さん"),  # Han with Hiragana: allowed together (UTS 39)
        ("li.ming@cdc", "li.ming@cdc"),
    ],
)
def test_user_names_have_one_canonical_form(typed: str, canonical: str) -> None:
    assert canonical_username(typed) == canonical


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("", "expected 1 to 100"),
        ("a" * 101, "expected 1 to 100"),
        ("two words", "not allowed"),
        ("ad\x01min", "not allowed"),
        ("ad\u202emin", "not allowed"),  # right-to-left override
        ("ﬁle", "not allowed"),  # a compatibility ligature
        ("a/b", "not allowed"),
        ("<b>x</b>", "not allowed"),
        ("аdmin", "mixes the scripts Cyrillic, Latin"),  # Cyrillic а
        ("pаypal", "mixes the scripts"),
    ],
)
def test_bad_user_names_are_refused_with_the_reason(typed: str, why: str) -> None:
    with pytest.raises(FieldError, match=why) as caught:
        canonical_username(typed)
    assert caught.value.field == "username"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("admin", "Admin"),
        ("admin1", "adminl"),
        ("ace", "асе"),  # Latin and Cyrillic, each of one script
        ("straße", "strasse"),
        ("coordinator", "coordinat0r".replace("0", "о")),  # Cyrillic о
    ],
)
def test_look_alike_names_share_a_key(first: str, second: str) -> None:
    assert lookalike_key(first) == lookalike_key(second)


def test_different_names_have_different_keys() -> None:
    names = ["admin", "analyst", "coordinator", "officer", "viewer", "by_admin", "张三", "李四"]
    assert len({lookalike_key(n) for n in names}) == len(names)


@pytest.mark.parametrize(
    "password",
    ["short1!", "password1234", "qwertyuiop123", "1234567890", "iloveyou2024", "aaaaaaaaaaaa"],
)
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(FieldError) as caught:
        check_password(password)
    assert caught.value.field == "password"


def test_a_password_built_from_the_users_own_name_is_refused() -> None:
    for password in ("zhang.wei.2024", "fengtai2024!"):
        check_password(password)  # fine for someone else
        with pytest.raises(FieldError, match="too easy to guess"):
            check_password(password, about=["zhang.wei", "Zhang Wei Fengtai"])


@pytest.mark.parametrize(
    "password", ["correct horse battery", "tocsin-demo-viewer", "Rain over the Neckar at 7"]
)
def test_long_unusual_passwords_are_accepted(password: str) -> None:
    check_password(password)


def test_very_long_passwords_are_bounded() -> None:
    check_password("lantern orchard " * 60)  # 960 characters: fine
    with pytest.raises(FieldError, match="at most 1000"):
        check_password("x" * 1001)


def test_email_addresses_are_checked_and_normalised() -> None:
    assert normalized_email("  Desk@Example.ORG ") == "Desk@example.org"
    assert normalized_email("") is None and normalized_email(None) is None
    assert normalized_email("值班@例子.中国") == "值班@例子.中国"
    for bad in ("desk", "desk@", "@example.org", "desk@@example.org", "a b@example.org"):
        with pytest.raises(FieldError, match="not a valid e-mail address"):
            normalized_email(bad)
