"""Login throttling: delays that grow with failures, per account and per client address.

There is no lock-out: a hard lock after N failures lets anyone lock anyone out, the
duty officer during an emergency included (OWASP Authentication Cheat Sheet, "Account
Lockout"). Instead each failed attempt in a row makes the next one wait longer:

- per **account** (the user name as typed, in canonical form): the first
  :attr:`ThrottlePolicy.account_free_failures` failures cost nothing; then the wait
  doubles from :attr:`~ThrottlePolicy.first_delay_seconds` with each failure, up to
  :attr:`~ThrottlePolicy.account_max_delay_seconds` (a minute by default: a guesser
  spread over many addresses gets at most 1,440 guesses a day, while the real user waits
  at most a minute);
- per **client address** (IPv6 addresses by their /64 network, which one client
  usually holds whole): the same with more free failures (many users may share an
  office's address) and a longer ceiling (15 minutes), which stops one client guessing
  across many accounts.

A success resets the account's count and takes the attempt back from the address's.
Failures are forgotten once :attr:`~ThrottlePolicy.forget_after_seconds` pass without a
new one. The check and the count are one atomic step: the rows of the account and of
the address are locked (``SELECT ... FOR UPDATE`` on PostgreSQL, the write lock on
SQLite) and the attempt is counted as a failure *before* the password is checked, so
that simultaneous attempts cannot all pass a check made before any of them was counted.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from dataclasses import dataclass

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tocsin.accounts.models import LoginThrottle
from tocsin.errors import UserError
from tocsin.store.engine import Dialect, dialect_of

ACCOUNT = "account"
ADDRESS = "address"


class LoginThrottledError(UserError):
    """Too many failed logins in a row: the caller must wait (HTTP 429, Retry-After)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class ThrottlePolicy:
    """How failed logins slow the next attempts down (see the module's documentation)."""

    account_free_failures: int = 5
    address_free_failures: int = 20
    first_delay_seconds: float = 1.0
    account_max_delay_seconds: float = 60.0
    address_max_delay_seconds: float = 15 * 60.0
    forget_after_seconds: float = 15 * 60.0

    def delay(self, scope: str, failures: int) -> dt.timedelta:
        """The wait before the next attempt after ``failures`` failures in a row."""
        free, ceiling = (
            (self.account_free_failures, self.account_max_delay_seconds)
            if scope == ACCOUNT
            else (self.address_free_failures, self.address_max_delay_seconds)
        )
        if failures < free:
            return dt.timedelta(0)
        exponent = min(failures - free, 60)  # 2**60 s is past any ceiling
        return dt.timedelta(seconds=min(self.first_delay_seconds * 2**exponent, ceiling))


def address_key(client: str) -> str:
    """The key of a client address: IPv4 as is, IPv6 by its /64 network."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client[:100]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _keys(account: str, address: str) -> list[tuple[str, str]]:
    return [(ACCOUNT, account[:100]), (ADDRESS, address_key(address))]


def _locked_rows(session: Session, keys: list[tuple[str, str]], now: dt.datetime):
    table = LoginThrottle.__table__
    dialect = postgresql if dialect_of(session) is Dialect.POSTGRESQL else sqlite
    session.execute(
        dialect.insert(table)
        .values([{"scope": s, "key": k, "failures": 0, "last_failure_at": now} for s, k in keys])
        .on_conflict_do_nothing()
    )
    wanted = or_(*(and_(LoginThrottle.scope == s, LoginThrottle.key == k) for s, k in keys))
    return session.scalars(
        select(LoginThrottle)
        .where(wanted)
        .order_by(LoginThrottle.scope, LoginThrottle.key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()


def admit(
    session: Session, policy: ThrottlePolicy, *, account: str, address: str, now: dt.datetime
) -> None:
    """Count an attempt of ``account`` from ``address`` as failed, or refuse it
    (:class:`LoginThrottledError`) while a delay runs. Call in a write transaction and
    commit before checking the password; :func:`succeeded` takes the count back."""
    rows = _locked_rows(session, _keys(account, address), now)
    forget = dt.timedelta(seconds=policy.forget_after_seconds)
    wait = dt.timedelta(0)
    for row in rows:
        if now - row.last_failure_at >= forget:
            row.failures = 0
        delay = policy.delay(row.scope, row.failures)
        # A simultaneous attempt may have read the clock after ours yet taken the lock
        # first: its failure then lies "after" now. Free failures mean no wait at all.
        if delay > dt.timedelta(0):
            wait = max(wait, row.last_failure_at + delay - now)
    if wait > dt.timedelta(0):
        raise LoginThrottledError(max(1, math.ceil(wait.total_seconds())))
    for row in rows:
        row.failures += 1
        row.last_failure_at = max(row.last_failure_at, now)


def succeeded(
    session: Session, policy: ThrottlePolicy, *, account: str, address: str, now: dt.datetime
) -> None:
    """The attempt admitted by :func:`admit` was right: reset the account's failures,
    take the attempt back from the address's, and drop rows that are forgotten."""
    for row in _locked_rows(session, _keys(account, address), now):
        row.failures = 0 if row.scope == ACCOUNT else max(row.failures - 1, 0)
    forgotten = now - dt.timedelta(seconds=policy.forget_after_seconds)
    session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < forgotten))
