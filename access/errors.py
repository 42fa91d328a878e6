"""The access errors, each carrying the HTTP status a service answers with.

    AccessError (GeoportalError, exit 9)   anything about identities, tokens, rules or the audit log
    ├── UserError                          a user is unknown, exists already, or a value is not acceptable
    ├── AuthenticationError        → 401   the caller could not be identified
    │   ├── BadCredentials                 wrong name or password (same message whichever was wrong)
    │   ├── LoginLocked            → 429   too many failed logins for this user or address
    │   └── TokenError                     a bearer token is refused
    │       ├── TokenMalformed             not a JWT, or its signature does not verify
    │       ├── TokenExpired               past its ``exp`` (or before its ``nbf``)
    │       ├── UnknownIssuer              ``iss`` is not a trusted issuer of this node
    │       └── WrongAudience              ``aud`` does not name this node's audience
    └── AuditError                         the audit log cannot be written, or its chain is broken

A service maps an error to its response with ``err.http_status``; the CLI prints it as one line.
"""

from __future__ import annotations

from geoportal.errors import GeoportalError


class AccessError(GeoportalError):
    exit_code = 9
    http_status = 403


class UserError(AccessError):
    http_status = 400


class AuthenticationError(AccessError):
    http_status = 401


class BadCredentials(AuthenticationError):
    pass


class LoginLocked(AuthenticationError):
    http_status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class TokenError(AuthenticationError):
    pass


class TokenMalformed(TokenError):
    pass


class TokenExpired(TokenError):
    pass


class UnknownIssuer(TokenError):
    pass


class WrongAudience(TokenError):
    pass


class AuditError(AccessError):
    http_status = 500
