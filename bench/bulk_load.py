"""Bulk loading the store for benchmark 5: many secrets, each with one sealed current
version, its stage label, two labels and its search text, written with SQLAlchemy Core executemany on the
store's own tables (lifecycle/store/schema.py) in large transactions.

Rows are built from the store's record types, and every payload is sealed with the
data dir's keyring (AES-GCM data key per version) exactly as the API seals it.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert

from lifecycle import versions
from lifecycle.core import Core
from lifecycle.records import SecretRecord, VersionRecord
from lifecycle.store import schema as t
from lifecycle.store.search import search_text

BATCH = 5_000
TYPES = ("kv", "arbitrary", "username_password")
ROTATION = {"auto_rotate": True, "interval": 30, "unit": "day"}
SAMPLE = 1_000  # ids kept for the probes


def name_of(i: int) -> str:
    return f"app-{i:07d}-config"


def _row(table: Table, record: Any) -> dict[str, Any]:
    return {c.name: getattr(record, c.name) for c in table.columns if hasattr(record, c.name)}


def _payload(secret_type: str, i: int) -> dict[str, Any]:
    if secret_type == "kv":
        return {"data": {"url": f"postgres://db-{i % 97}:5432/app", "pool": 10, "debug": False}}
    if secret_type == "arbitrary":
        return {"payload": f"token-{i:07d}-0123456789abcdef"}
    return {"username": f"svc-{i}", "password": f"pw-{i:07d}-0123456789abcdefghij"}


def _secret(i: int, n: int, due: int, now: datetime, base: datetime) -> SecretRecord:
    secret_type = TYPES[i % len(TYPES)]
    rotating = secret_type == "username_password"
    if i < due:
        next_rotation = now - timedelta(minutes=due - i)  # the due ones, oldest first
    elif rotating:
        next_rotation = now + timedelta(days=1 + i % 365)
    else:
        next_rotation = None
    created = base + timedelta(seconds=i)
    return SecretRecord(
        id=f"{i:08d}-0000-4000-8000-{(i * 7919) % 10**12:012d}", secret_group_id="default",
        secret_type=secret_type if i >= due else "username_password", name=name_of(i),
        description=f"secret {i} of {n} (scale benchmark)", labels=[f"env-{'prod' if i % 2 else 'dev'}", f"team-{i % 50}"],
        custom_metadata={}, attributes={"rotation": ROTATION} if rotating or i < due else {}, state=1,
        expiration_date=None, created_by="bench", created_at=created, updated_at=created, retrieved_at=None,
        downloaded=False, versions_total=1, locks_total=0, next_rotation_date=next_rotation,
        client_request_token=None, request_fingerprint=None,
    )


def _batches(core: Core, n: int, due: int) -> Iterator[dict[Table, list[dict[str, Any]]]]:
    now = datetime.now(UTC)
    base = now - timedelta(seconds=n + 3600)
    rows: dict[Table, list[dict[str, Any]]] = {t.secrets: [], t.secret_versions: [], t.version_stages: [],
                                               t.secret_labels: [], t.secret_search: []}
    for i in range(n):
        secret = _secret(i, n, due, now, base)
        version_id = f"{i:08d}-0000-4000-9000-{(i * 104729) % 10**12:012d}"
        sealed = versions.seal(core, secret.id, version_id, _payload(secret.secret_type, i))
        version = VersionRecord(
            id=version_id, secret_id=secret.id, seq=1, created_by="bench", created_at=secret.created_at,
            payload=sealed.ciphertext, wrapped_key=sealed.wrapped_key, key_id=sealed.key_id, custom_metadata={},
            attributes={}, downloaded=False, auto_rotated=False, client_request_token=None, request_fingerprint=None,
        )
        rows[t.secrets].append(_row(t.secrets, secret))
        rows[t.secret_versions].append(_row(t.secret_versions, version))
        rows[t.version_stages].append({"secret_id": secret.id, "stage": "current", "version_id": version_id})
        rows[t.secret_labels] += [{"secret_id": secret.id, "label": label} for label in secret.labels]
        rows[t.secret_search].append({"secret_id": secret.id, "search_text": search_text(
            secret.id, secret.name, secret.description, secret.secret_type, secret.labels)})
        if len(rows[t.secrets]) == BATCH or i == n - 1:
            yield rows
            rows = {table: [] for table in rows}


def load(core: Core, n: int, *, due: int = 200) -> list[str]:
    """Insert ``n`` secrets (the first ``due`` of them due for rotation); returns a sample of ids."""
    # Probes are a seeded random sample: evenly spaced rows of a million would all be numbered
    # ...000, names whose every trigram but one is in every secret's id or description.
    probes = set(random.Random(n).sample(range(n), min(SAMPLE, n)))
    sample: list[str] = []
    counts: Counter[tuple[str, str]] = Counter()
    for rows in _batches(core, n, due):
        with core.store.engine.begin() as conn:
            for table, batch in rows.items():  # parents first: secrets, versions, stages, labels, search
                conn.execute(insert(table), batch)
        counts.update((r["secret_group_id"], r["secret_type"]) for r in rows[t.secrets])
        sample += [r["id"] for r in rows[t.secrets] if int(r["id"].split("-")[0]) in probes]
    with core.store.transaction() as tx:  # what the store's inserts keep: secrets per (group, type)
        for (group, secret_type), added in counts.items():
            tx.add_to_count(group, secret_type, added)
    return sample[:SAMPLE]
