"""The audit log's hash chain and its verification (``tocsin audit verify``)."""

from tocsin.audit.chain import ChainReport, entry_hash, verify

__all__ = ["ChainReport", "entry_hash", "verify"]
