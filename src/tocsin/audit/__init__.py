"""The audit log: every state change recorded with who, when, before and after
(:func:`record`, :mod:`tocsin.audit.models`), linked into a hash chain
(:mod:`tocsin.audit.chain`) and verified by ``tocsin audit verify``.

Importing this package registers the chain's flush hook, so any code that records an
entry through it is chained.
"""

from tocsin.audit.chain import ChainReport, entry_hash, verify
from tocsin.audit.log import default_actor, record
from tocsin.audit.models import AuditEntry

__all__ = ["AuditEntry", "ChainReport", "default_actor", "entry_hash", "record", "verify"]
