"""The password policy: long enough, not easy to guess.

Following NIST SP 800-63B section 3.1.1.2 (and the OWASP Authentication Cheat Sheet): no
rules on character classes, a minimum length, a generous maximum, and a check against
commonly used and easily guessed passwords. The check is zxcvbn (Wheeler, "zxcvbn:
Low-Budget Password Strength Estimation", USENIX Security 2016): it matches the password
against 30,000 common passwords, English words, names, keyboard patterns, sequences,
repeats and dates, and against the user's own name and e-mail address, and estimates
the guesses an attacker needs, counting the user's name, display name and e-mail
address (and each of their words) as the first words an attacker tries (NIST:
context-specific words). A password needs score 3 or more: at least 10^8 guesses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from zxcvbn import zxcvbn

from tocsin.accounts.errors import FieldError
from tocsin.catalogs import N_

MIN_LENGTH = 10
#: Long passphrases are welcome; this only bounds the work of hashing one.
MAX_LENGTH = 1000
#: zxcvbn's score: 3 is "safely unguessable: moderate protection from an offline
#: slow-hash scenario" (10^8 guesses or more).
MIN_SCORE = 3
#: zxcvbn's matching grows quickly with the length and it refuses more than 72
#: characters: a longer password is judged on its beginning (strong on its own).
_JUDGED_LENGTH = 72


def check_password(password: str, field: str = "password", *, about: Iterable[str] = ()) -> None:
    """Refuse (:class:`FieldError`) a password that is too short, too long or too easy to
    guess; ``about`` holds the user's name, display name and e-mail address."""
    if len(password) < MIN_LENGTH:
        raise FieldError(
            field,
            N_("expected at least %(min)d characters; a passphrase of several words is best"),
            min=MIN_LENGTH,
        )
    if len(password) > MAX_LENGTH:
        raise FieldError(field, N_("expected at most %(max)d characters"), max=MAX_LENGTH)
    context = ["tocsin"]
    for text in about:  # the whole name and each of its words
        context += [text, *(word for word in re.split(r"[\W_]+", text) if len(word) > 2)]
    if zxcvbn(password[:_JUDGED_LENGTH], user_inputs=context)["score"] < MIN_SCORE:
        raise FieldError(
            field,
            N_(
                "too easy to guess: it is, or is built from, a common password, a word, a "
                "name, a pattern or the user's own name; choose several unrelated words"
            ),
        )
