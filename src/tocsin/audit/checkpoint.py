"""Signed checkpoint files of the audit chain: the head (number of entries, last entry,
its hash) written to a file with an HMAC-SHA256 signature (RFC 2104) under
``TOCSIN_AUDIT_KEY``, a key the database never holds.

Kept away from the database (another machine, a printed report, an e-mail to the
auditor), a checkpoint detects what no row inside the database can: a log wiped or
truncated together with its head and its checkpoint table, or rewritten with every hash
recomputed. ``tocsin audit checkpoint FILE`` writes one;
``tocsin audit verify --checkpoint FILE`` checks the log against it
(:func:`tocsin.audit.chain.verify`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path

from sqlalchemy.orm import Session

from tocsin.audit.chain import Anchor, head
from tocsin.errors import UserError
from tocsin.settings import get_settings

FORMAT = "tocsin-audit-checkpoint/1"
MIN_KEY_LENGTH = 32
_FIELDS = ("format", "at", "entry_count", "last_id", "last_hash")


def configured_key() -> str:
    """``TOCSIN_AUDIT_KEY``, or an error saying how to set it."""
    secret = get_settings().audit_key
    key = secret.get_secret_value() if secret is not None else ""
    if len(key) < MIN_KEY_LENGTH:
        state = "is not set" if not key else f"has {len(key)} characters"
        raise UserError(
            f"TOCSIN_AUDIT_KEY {state}: audit checkpoints are signed with it; set it to a "
            f"random secret of at least {MIN_KEY_LENGTH} characters (e.g. the output of "
            f"`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`) and keep it "
            f"off the database server"
        )
    return key


def take_checkpoint(session: Session) -> Anchor:
    """The chain's head now; an empty log has nothing to anchor."""
    anchor = head(session)
    if anchor is None:
        raise UserError("the audit log is empty: there is no chain head to checkpoint yet")
    return anchor


def _signature(document: dict, key: str) -> str:
    signed = json.dumps({name: document[name] for name in _FIELDS}, sort_keys=True)
    return hmac.new(key.encode(), signed.encode(), hashlib.sha256).hexdigest()


def write_checkpoint(path: Path, anchor: Anchor, key: str) -> None:
    """Write ``anchor`` to ``path`` as JSON signed with ``key``."""
    document: dict = {
        "format": FORMAT,
        "at": anchor.at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "entry_count": anchor.entry_count,
        "last_id": anchor.last_id,
        "last_hash": anchor.last_hash,
    }
    document["hmac_sha256"] = _signature(document, key)
    try:
        Path(path).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot write the checkpoint ({exc.strerror})") from exc


def read_checkpoint(path: Path, key: str) -> Anchor:
    """The anchor of the checkpoint file at ``path``, after checking its signature."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"{path}: no such checkpoint file (it is missing)") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(
            f"{path}: not a checkpoint file written by `tocsin audit checkpoint` ({exc})"
        ) from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise UserError(f"{path}: not a checkpoint file (expected format {FORMAT!r})")
    missing = [name for name in (*_FIELDS, "hmac_sha256") if name not in document]
    if missing:
        raise UserError(f"{path}: the checkpoint lacks {', '.join(missing)}")
    if not hmac.compare_digest(str(document["hmac_sha256"]), _signature(document, key)):
        raise UserError(
            f"{path}: the checkpoint's signature does not match: the file was changed, or it "
            f"was signed with another TOCSIN_AUDIT_KEY"
        )
    try:
        return Anchor(
            entry_count=int(document["entry_count"]),
            last_id=int(document["last_id"]),
            last_hash=str(document["last_hash"]),
            at=dt.datetime.fromisoformat(document["at"]),
            source=f"the checkpoint file {path.name} of {document['at']}",
        )
    except (TypeError, ValueError) as exc:
        raise UserError(f"{path}: the checkpoint has a malformed field ({exc})") from exc
