"""API tokens: ``ck_<id>_<secret>``; only a SHA-256 of the secret part is stored.

The secret part has 256 bits of entropy, so a fast hash is enough (no password KDF);
the id part picks the row, and the hashes are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from lifecycle import audit, durations
from lifecycle.core import Actor, Core
from lifecycle.errors import InvalidInput, NotFound, Unauthenticated
from lifecycle.records import TokenRecord
from lifecycle.vocabulary import Role

TOKEN_RE = re.compile(r"^ck_([A-Za-z0-9]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    record: TokenRecord


def parse_duration(text: str, field: str = "ttl") -> timedelta:
    """'90s', '15m', '24h', '30d' -> timedelta; raises InvalidInput."""
    return durations.parse_duration(text, field)


def _hash(secret_part: str) -> str:
    return hashlib.sha256(secret_part.encode()).hexdigest()


def issue(
    core: Core, actor: Actor, role: Role, *, groups: list[str] | None = None, ttl: timedelta | None = None,
    description: str | None = None,
) -> IssuedToken:
    """Create and store a token; the returned plaintext is shown once and never stored."""
    issued = mint(core.clock(), role, groups=groups, ttl=ttl, description=description)
    store(core, actor, issued)
    return issued


def mint(
    now: datetime, role: Role, *, groups: list[str] | None = None, ttl: timedelta | None = None,
    description: str | None = None,
) -> IssuedToken:
    """A new token, not yet stored (so the caller can keep the plaintext safe first)."""
    token_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(16))
    secret_part = secrets.token_urlsafe(32)
    record = TokenRecord(
        id=token_id, secret_hash=_hash(secret_part), role=role.value, groups=groups, description=description,
        created_at=now, expires_at=now + ttl if ttl else None, revoked_at=None,
    )
    return IssuedToken(f"ck_{token_id}_{secret_part}", record)


def store(core: Core, actor: Actor, issued: IssuedToken) -> None:
    """Store a minted token. Raises InvalidInput for an unknown group."""
    record, token_id, groups, now = issued.record, issued.record.id, issued.record.groups, issued.record.created_at
    with core.store.transaction() as tx:
        for group_id in groups or ():
            if tx.get_group(group_id) is None:
                raise InvalidInput(f"groups: secret group '{group_id}' does not exist", field="groups")
        tx.insert_token(record)
        audit.record(tx, actor, now, "token.create", f"token:{token_id}")


def list_tokens(core: Core) -> list[TokenRecord]:
    """Every token, revoked and expired ones too, oldest first (no secret part: only its hash is kept)."""
    with core.store.reader() as tx:
        return tx.list_tokens()


def revoke(core: Core, actor: Actor, token: str) -> TokenRecord:
    """Revoke a token given by its id or whole (ck_<id>_<secret>). Every process refuses it
    once its token cache lets go of the row (at most 5 s). Revoking a revoked token changes
    nothing. Raises NotFound."""
    token = token.strip()
    match = re.fullmatch(r"ck_([A-Za-z0-9]{16})_.*", token, re.S) or re.fullmatch(r"([A-Za-z0-9]{16})", token)
    if match is None:  # never echoed: it may be a token pasted wrong
        raise InvalidInput("token: give a token's 16-character id (as `token list` shows it) or the whole token")
    token_id = match.group(1)
    now = core.clock()
    with core.store.transaction() as tx:
        if tx.get_token(token_id) is None:
            raise NotFound("token", token_id)
        if tx.revoke_token(token_id, now):
            audit.record(tx, actor, now, "token.revoke", f"token:{token_id}")
        record = tx.get_token(token_id)
    assert record is not None
    return record


def authenticate(core: Core, presented: str, now: datetime) -> TokenRecord:
    """The token record for a presented bearer token; raises Unauthenticated."""
    match = TOKEN_RE.fullmatch(presented)
    if not match:
        raise Unauthenticated("bearer token is malformed")
    record = core.token_cache.get(match.group(1))
    if record is None:
        with core.store.reader() as tx:
            record = tx.get_token(match.group(1))
        if record is not None:
            core.token_cache.put(record)
    # Hash even when the id is unknown, so timing does not tell ids apart.
    presented_hash = _hash(match.group(2))
    if record is None or not hmac.compare_digest(presented_hash, record.secret_hash):
        raise Unauthenticated("bearer token is not valid")
    if record.revoked_at is not None:
        raise Unauthenticated("bearer token was revoked")
    if record.expires_at is not None and record.expires_at <= now:
        raise Unauthenticated("bearer token has expired")
    return record
