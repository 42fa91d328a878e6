"""Passwords: argon2id hashes (argon2-cffi), the login check, and its rate limit.

:func:`login` is the one place a password is checked. Before looking at the password it asks the
:class:`RateLimit` whether the user or the address is locked out (``max_failures`` failures within
``window`` seconds lock further attempts for ``lockout`` seconds); every attempt, good or bad, goes to the
audit log with the address; an unknown user costs the same argon2 work as a known one, so the time of the
answer does not tell which names exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from access.audit import AuditLog
from access.config import LoginLimits
from access.errors import BadCredentials, LoginLocked, UserError
from access.principal import Principal
from access.users import UserRepository

_HASHER = PasswordHasher()
MIN_LENGTH = 10


def hash_password(password: str) -> str:
    """An argon2id hash with argon2-cffi's current recommended parameters (salt included)."""
    if len(password) < MIN_LENGTH:
        raise UserError(f"the password is too short: use at least {MIN_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = None


def _dummy_hash() -> str:
    global _DUMMY_HASH  # computed once, on the first login of an unknown name
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _HASHER.hash("not a password of anyone")
    return _DUMMY_HASH


@dataclass(frozen=True)
class RateLimit:
    """Failed-login counting over the repository, per ``user:NAME`` and per ``addr:ADDRESS``."""

    users: UserRepository
    limits: LoginLimits
    clock: Callable[[], float] = time.time

    def locked_for(self, key: str) -> int:
        """Seconds ``key`` stays locked (0: not locked): the last ``max_failures`` failures fell within
        ``window`` seconds, and the last of them is less than ``lockout`` seconds old."""
        now = self.clock()
        recent = self.users.failures(key, now - self.limits.window - self.limits.lockout)
        if len(recent) < self.limits.max_failures:
            return 0
        last_n = recent[-self.limits.max_failures :]
        if last_n[-1] - last_n[0] > self.limits.window:
            return 0
        left = last_n[-1] + self.limits.lockout - now
        return max(0, int(left + 0.999))

    def fail(self, key: str) -> None:
        now = self.clock()
        self.users.add_failure(key, now)
        self.users.prune_failures(now - 2 * (self.limits.window + self.limits.lockout))

    def clear(self, key: str) -> None:
        self.users.clear_failures(key)


def login(
    users: UserRepository,
    audit: AuditLog,
    limits: LoginLimits,
    name: str,
    password: str,
    address: str,
    clock: Callable[[], float] = time.time,
    via: str | None = None,
) -> Principal:
    """The principal of ``name`` if ``password`` is right; :class:`LoginLocked` or :class:`BadCredentials`
    otherwise. The message does not say whether the name or the password was wrong. ``via`` (form, basic)
    goes into the audit entries, so an admin sees how a login was tried."""
    rate = RateLimit(users, limits, clock)
    how = {"via": via} if via else {}
    user_key, addr_key = f"user:{name}", f"addr:{address}"
    wait = max(rate.locked_for(user_key), rate.locked_for(addr_key))
    if wait:
        audit.append("login", actor=name, user=name, address=address, outcome="locked", **how)
        raise LoginLocked(
            f"too many failed logins for '{name}' or from {address}; try again in {wait} s", retry_after=wait
        )
    user = users.get(name)
    ok = verify_password(user.password_hash if user else _dummy_hash(), password)
    if not ok or user is None or user.disabled:
        rate.fail(user_key)
        rate.fail(addr_key)
        reason = (
            "unknown user" if user is None else ("disabled" if user.disabled and ok else "wrong password")
        )
        audit.append("login", actor=name, user=name, address=address, outcome="failed", reason=reason, **how)
        raise BadCredentials(
            f"login of '{name}' refused: wrong name or password (or the account is disabled)"
        )
    rate.clear(user_key)
    if _HASHER.check_needs_rehash(user.password_hash):
        users.update(name, password_hash=_HASHER.hash(password))
    audit.append("login", actor=name, user=name, address=address, outcome="ok", **how)
    return user.principal()
