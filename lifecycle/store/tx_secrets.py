"""Store methods for groups, secrets, labels, versions, stage labels and locks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal_column,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import NullType

from lifecycle.errors import Conflict
from lifecycle.records import GroupRecord, LockRecord, SecretRecord, VersionEntry, VersionRecord
from lifecycle.store import schema as t
from lifecycle.store.direct import DirectSelect
from lifecycle.store.held import Additive
from lifecycle.store import search_upkeep
from lifecycle.store.search import matching_ids, search_text
from lifecycle.store.tx_base import (
    TxBase,
    _escape_like,
    _field_names,
    _from_mapping,
    _insert_statement,
    _record,
    _row,
)


def rotation_due(now: Any) -> tuple[Any, ...]:
    """The secrets whose rotation is due at ``now`` (a value or a bind parameter)."""
    s = t.secrets.c
    return s.next_rotation_date.is_not(None), s.next_rotation_date <= now


def expired_active(now: Any) -> tuple[Any, ...]:
    """The secrets expired at ``now`` and still active, unlocked (ix_secrets_active_expiration).
    The state is written into the SQL, not bound: a planner proves the partial index's
    ``state = 1`` from a literal only (SQLite always, PostgreSQL in a prepared generic plan)."""
    s = t.secrets.c
    return s.expiration_date.is_not(None), s.expiration_date <= now, s.state == literal_column("1"), s.locks_total == 0


def expiry_notice_due(now: Any) -> tuple[Any, ...]:
    """The secrets whose next about-to-expire notice is due at ``now``."""
    s = t.secrets.c
    return s.next_expiry_notice.is_not(None), s.next_expiry_notice <= now


def first_due(columns: Sequence[Any], due: Callable[[Any], tuple[Any, ...]], by: Any) -> dict[bool, Any]:
    """The first ``limit`` secrets ``due`` at ``now`` (bind parameters), ``columns`` of them,
    in (``by``, id) order, the order the date's index holds: as a reader reads them (False)
    and as a write transaction does, locking those it takes (SKIP LOCKED on PostgreSQL)."""
    q = (select(*columns).where(*due(bindparam("now"))).order_by(by, t.secrets.c.id)
         .limit(bindparam("limit")))
    return {False: q, True: q.with_for_update(skip_locked=True)}


def _all_but(table: Any, by: Any) -> list[Any]:
    return [c for c in table.c if c is not by]


_V = t.secret_versions.c
_ENTRY_COLUMNS = (_V.id, _V.seq, _V.payload.is_not(None).label("payload_available"))  # a VersionEntry's fields

# What a snapshot of secrets reads (snapshot_secrets): per table, its secret id column, the
# columns after it and the order. Of the versions, only their entries (VersionEntry): that is
# all a change of the secret reads of them.
_SNAPSHOT_OF = {
    "secrets": (t.secrets.c.id, _all_but(t.secrets, t.secrets.c.id), [t.secrets.c.id]),
    "version_stages": (t.version_stages.c.secret_id, _all_but(t.version_stages, t.version_stages.c.secret_id),
                       [t.version_stages.c.stage]),
    "locks": (t.locks.c.secret_id, _all_but(t.locks, t.locks.c.secret_id), [t.locks.c.version_id, t.locks.c.name]),
    "secret_versions": (_V.secret_id, list(_ENTRY_COLUMNS), [_V.seq]),
}


def _snapshot_columns(what: str) -> list[Any]:
    """The columns of a snapshot row of table ``what``, in order: the secret id first."""
    by, rest, _order = _SNAPSHOT_OF[what]
    return [by, *rest]


def _snapshot(what: str, for_update: bool) -> Any:
    """Those columns as the driver returns them."""
    by, _rest, order = _SNAPSHOT_OF[what]
    q = (select(*(type_coerce(c, NullType()).label(c.name) for c in _snapshot_columns(what)))
         .where(by.in_(bindparam("ids", expanding=True))).order_by(by, *order))
    return q.with_for_update() if for_update else q


def _entry(version_id: str, seq: Any, payload_available: Any) -> VersionEntry:
    """A version's entry from its columns as read (SQLite gives the flag as 0 or 1)."""
    return VersionEntry(version_id, int(seq), bool(payload_available))


_SNAPSHOT = {(what, locked): _snapshot(what, locked) for what in _SNAPSHOT_OF for locked in (False, True)}
_DECODERS: dict[tuple[str, int], tuple[Any, list[tuple[str, Any]]]] = {}


def _decoded(what: str, row: tuple[Any, ...], dialect: Any) -> dict[str, Any]:
    """A snapshot row of table ``what`` by column name, each value through its column type's
    result processor for ``dialect``: what a query typed by the table returns."""
    cached = _DECODERS.get((what, id(dialect)))
    if cached is None or cached[0] is not dialect:
        cached = _DECODERS[(what, id(dialect))] = (dialect, [
            (c.name, c.type.dialect_impl(dialect).result_processor(dialect, None)) for c in _snapshot_columns(what)])
    return {name: p(value) if p is not None else value for (name, p), value in zip(cached[1], row, strict=True)}


@dataclass(frozen=True, slots=True)
class DueRotation:
    """A secret whose rotation is due: all the scheduler reads of it to enqueue the rotation."""

    id: str
    next_rotation_date: datetime
    attributes: dict[str, Any]


FEW_MATCHES = 1_000  # a search matching at most this many secrets has its page planned from their ids
SORTABLE = {
    "id": t.secrets.c.id,
    "created_at": t.secrets.c.created_at,
    "updated_at": t.secrets.c.updated_at,
    "retrieved_at": t.secrets.c.retrieved_at,
    "expiration_date": t.secrets.c.expiration_date,
    "secret_type": t.secrets.c.secret_type,
    "name": t.secrets.c.name,
}


# The statements of the hot paths (issue, read, rotate), built once so SQLAlchemy reuses
# their cache keys and compiled forms; values go in as bound parameters.
_GET_GROUP = select(t.secret_groups).where(t.secret_groups.c.id == bindparam("id"))
_GET_SECRET = select(t.secrets).where(t.secrets.c.id == bindparam("id"))
_GET_SECRET_FOR_UPDATE = _GET_SECRET.with_for_update()
_UPDATE_SECRET = update(t.secrets).where(t.secrets.c.id == bindparam("row_id"))
_INSERT_SEARCH = insert(t.secret_search)
# Additions to secret_counts held together are one per (group, type): see add_to_count.
_COUNT_ADDITION = Additive(key=("secret_group_id", "secret_type"), amount="n")
_UPDATE_SEARCH = update(t.secret_search).where(t.secret_search.c.secret_id == bindparam("row_id"))
_UPDATE_SECRET_SEARCHED = _UPDATE_SECRET.returning(t.secrets.c.id, t.secrets.c.name, t.secrets.c.description,
                                                    t.secrets.c.secret_type, t.secrets.c.labels)
_SEARCHED_FIELDS = frozenset({"name", "description", "labels"})
_GET_VERSION = select(t.secret_versions).where(
    t.secret_versions.c.secret_id == bindparam("secret_id"), t.secret_versions.c.id == bindparam("id"))
_GET_STAGED_VERSION = (
    select(t.secret_versions)
    .join(t.version_stages, t.version_stages.c.version_id == t.secret_versions.c.id)
    .where(t.version_stages.c.secret_id == bindparam("secret_id"), t.version_stages.c.stage == bindparam("stage"),
           t.secret_versions.c.secret_id == bindparam("secret_id"))
)
# A secret and the version holding a stage label, in one statement: the version's columns are
# NULL when no version holds it.
# Every secret read (GET /api/v2/secrets/{id}) runs it, so it runs on the driver's cursor.
_GET_SECRET_STAGED = DirectSelect(
    select(*(c.label(f"s_{c.name}") for c in t.secrets.c), *(c.label(f"v_{c.name}") for c in t.secret_versions.c))
    .select_from(t.secrets
                 .outerjoin(t.version_stages, and_(t.version_stages.c.secret_id == t.secrets.c.id,
                                                   t.version_stages.c.stage == bindparam("stage")))
                 .outerjoin(t.secret_versions, and_(t.secret_versions.c.id == t.version_stages.c.version_id,
                                                    t.secret_versions.c.secret_id == t.secrets.c.id)))
    .where(t.secrets.c.id == bindparam("id"))
)
_LIST_VERSIONS = (select(t.secret_versions).where(t.secret_versions.c.secret_id == bindparam("secret_id"))
                  .order_by(t.secret_versions.c.seq.desc()))
_DUE_ROTATIONS = first_due([t.secrets.c.id, t.secrets.c.next_rotation_date, t.secrets.c.attributes],
                           rotation_due, t.secrets.c.next_rotation_date)
_EXPIRED_ACTIVE = first_due([t.secrets], expired_active, t.secrets.c.expiration_date)
_LIST_VERSION_ENTRIES = (select(*_ENTRY_COLUMNS).where(t.secret_versions.c.secret_id == bindparam("secret_id"))
                         .order_by(t.secret_versions.c.seq.desc()))
_UPDATE_VERSION = update(t.secret_versions).where(t.secret_versions.c.id == bindparam("row_id"))
_ERASE_PAYLOAD = _UPDATE_VERSION.values(payload=None, wrapped_key=None, key_id=None)
_DELETE_VERSION = delete(t.secret_versions).where(t.secret_versions.c.id == bindparam("row_id"))
_GET_STAGES = select(t.version_stages.c.stage, t.version_stages.c.version_id).where(
    t.version_stages.c.secret_id == bindparam("secret_id"))
_DELETE_STAGE = delete(t.version_stages).where(
    t.version_stages.c.secret_id == bindparam("secret_id"), t.version_stages.c.stage == bindparam("stage"))
_MOVE_STAGE = update(t.version_stages).where(
    t.version_stages.c.secret_id == bindparam("row_secret"), t.version_stages.c.stage == bindparam("row_stage"))
_COUNT_LOCKS = select(func.count()).select_from(t.locks).where(t.locks.c.secret_id == bindparam("secret_id"))
_LOCKS_OF_SECRET = (select(t.locks).where(t.locks.c.secret_id == bindparam("secret_id"))
                    .order_by(t.locks.c.created_at, t.locks.c.name))


@dataclass(frozen=True, slots=True)
class SecretQuery:
    offset: int = 0
    limit: int = 200
    sort: str = "created_at"
    descending: bool = False
    search: str | None = None
    groups: Sequence[str] | None = None
    secret_types: Sequence[str] | None = None
    labels: Sequence[str] | None = None


@cache
def _count_upsert(dialect_name: str) -> Any:
    """Add n to a (group, type, shard) count, making the row on first use, in one statement."""
    upsert = (sqlite_insert if dialect_name == "sqlite" else postgresql_insert)(t.secret_counts)
    c = t.secret_counts.c
    return upsert.on_conflict_do_update(index_elements=[c.secret_group_id, c.secret_type, c.shard],
                                        set_={"n": c.n + upsert.excluded.n})


@cache
def _staged_positions() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Where each field of SecretRecord and VersionRecord (in field order) is in a row of
    _GET_SECRET_STAGED: records made by position, not by a name lookup per field."""
    names = [c.name for c in _GET_SECRET_STAGED.statement.selected_columns]
    return (tuple(names.index(f"s_{n}") for n in _field_names(SecretRecord)),
            tuple(names.index(f"v_{n}") for n in _field_names(VersionRecord)))


def _shard(secret_id: str) -> int:
    """Which of a (group, type)'s count rows a secret moves: any fixed spread will do."""
    return sum(secret_id.encode()) % t.COUNT_SHARDS


class SecretsTx(TxBase):
    # -- groups -----------------------------------------------------------
    def insert_group(self, group: GroupRecord) -> None:
        self._memo.pop(("group", group.id), None)
        self._insert(t.secret_groups, _row(group), f"secret group name '{group.name}' is already in use")

    def get_group(self, group_id: str) -> GroupRecord | None:
        """A group by id; read once per transaction (or assumed, see assume())."""
        key = ("group", group_id)
        if key not in self._memo:
            row = self._c.execute(_GET_GROUP, {"id": group_id}).first()
            self._memo[key] = _record(GroupRecord, row) if row else None
        return self._memo[key]  # type: ignore[no-any-return]

    def get_group_by_name(self, name: str) -> GroupRecord | None:
        row = self._c.execute(select(t.secret_groups).where(t.secret_groups.c.name == name)).first()
        return _record(GroupRecord, row) if row else None

    def list_groups(self, ids: Iterable[str] | None = None) -> list[GroupRecord]:
        q = select(t.secret_groups).order_by(t.secret_groups.c.created_at, t.secret_groups.c.id)
        if ids is not None:
            q = q.where(t.secret_groups.c.id.in_(list(ids)))
        return [_record(GroupRecord, r) for r in self._c.execute(q)]

    def update_group(self, group_id: str, **changes: Any) -> None:
        self._memo.pop(("group", group_id), None)
        try:
            self._c.execute(update(t.secret_groups).where(t.secret_groups.c.id == group_id).values(**changes))
        except IntegrityError:
            raise Conflict(f"secret group name '{changes.get('name')}' is already in use", field="name") from None

    def delete_group(self, group_id: str) -> None:
        self._memo.pop(("group", group_id), None)
        self._c.execute(delete(t.secret_groups).where(t.secret_groups.c.id == group_id))

    def count_secrets_in_group(self, group_id: str) -> int:
        q = select(func.count()).select_from(t.secrets).where(t.secrets.c.secret_group_id == group_id)
        return int(self._c.execute(q).scalar_one())

    # -- secrets ----------------------------------------------------------
    def insert_secret(self, secret: SecretRecord) -> None:
        """A new secret with its labels, search text and count. Held inside held_writes(): there a
        name already taken fails the whole executemany (IntegrityError, no message naming it), so
        a caller batching creations redoes them one by one when its batch fails."""
        if not self._hold("secret_insert", _insert_statement(t.secrets), _row(secret), ("secrets", secret.id)):
            self._insert(
                t.secrets,
                _row(secret),
                f"a {secret.secret_type} secret named '{secret.name}' already exists in this secret group",
            )
        self._write_labels(secret.id, secret.labels)
        search = {"secret_id": secret.id, "search_text": search_text(
            secret.id, secret.name, secret.description, secret.secret_type, secret.labels)}
        if not self._hold("search_insert", _INSERT_SEARCH, search, ("secret_search", secret.id)):
            self._c.execute(_INSERT_SEARCH, search)
        self.add_to_count(secret.secret_group_id, secret.secret_type, 1, shard=_shard(secret.id))

    def add_to_count(self, group_id: str, secret_type: str, delta: int, *, shard: int = 0) -> None:
        """Keep secret_counts: one shard of (group, type) moves by delta; the row is made on first
        use (an upsert, so concurrent first uses cannot collide). Additions commute, so inside
        held_writes() each is held as a write of its own that waits for no other, and the flush
        sums them into one per (group, type), in the shard of the first (held.Additive)."""
        params = {"secret_group_id": group_id, "secret_type": secret_type, "shard": shard, "n": delta}
        upsert = _count_upsert(self._c.dialect.name)
        if not self._hold("count_add", upsert, params, ("secret_counts", id(params)), _COUNT_ADDITION):
            self._c.execute(upsert, params)

    def get_secret(self, secret_id: str, *, for_update: bool = False) -> SecretRecord | None:
        if self._prefetched:
            ahead = self._prefetched.pop(("secret", secret_id), None)
            if ahead is not None and (ahead[1] or not (for_update and self._for_update)):
                return ahead[0]  # type: ignore[no-any-return]
        q = _GET_SECRET_FOR_UPDATE if for_update and self._for_update else _GET_SECRET
        row = self._c.execute(q, {"id": secret_id}).first()
        return _record(SecretRecord, row) if row else None

    def prefetch_secrets(self, secret_ids: Sequence[str], *, for_update: bool = False) -> dict[str, tuple[Any, ...]]:
        """Read ahead, in the four queries of `snapshot_secrets`, what changing each of these
        secrets reads first: the secret (locked on PostgreSQL with ``for_update``, in id order),
        its stage labels and locks as records, its versions as entries. Each is used by the first read of it
        inside this held_writes() block; a write to it drops it. Returns the snapshot the
        records were made from."""
        stored = self.snapshot_secrets(secret_ids, for_update=for_update)
        locked = for_update and self._for_update
        dialect = self._c.dialect
        for i, (row, stages, locks, versions) in stored.items():
            self._prefetched[("secret", i)] = (_from_mapping(SecretRecord, _decoded("secrets", row, dialect)), locked)
            self._prefetched[("stages", i)] = {r["stage"]: r["version_id"]
                                               for r in (_decoded("version_stages", s, dialect) for s in stages)}
            lock_records = [_from_mapping(LockRecord, _decoded("locks", r, dialect)) for r in locks]
            self._prefetched[("locks", i)] = sorted(lock_records, key=lambda lock: (lock.created_at, lock.name))
            self._prefetched[("versions", i)] = [_entry(*v[1:]) for v in reversed(versions)]  # newest first
        return stored

    def snapshot_secrets(self, secret_ids: Sequence[str], *, for_update: bool = False) -> dict[str, tuple[Any, ...]]:
        """Per secret, its row, stage labels, locks and versions exactly as stored (no records
        built, no JSON or datetimes parsed), in four queries: two equal snapshots mean nothing a
        change of the secret reads changed in between. With ``for_update`` the secrets' rows are
        locked on PostgreSQL, in id order. A secret that does not exist is absent."""
        ids = sorted(set(secret_ids))
        if not ids:
            return {}
        q = _SNAPSHOT[("secrets", for_update and self._for_update)]
        rows: dict[str, list[Any]] = {r[0]: [tuple(r), [], [], []] for r in self._c.execute(q, {"ids": ids})}
        for at, what in enumerate(("version_stages", "locks", "secret_versions"), start=1):
            for r in self._c.execute(_SNAPSHOT[(what, False)], {"ids": ids}):
                if r[0] in rows:
                    rows[r[0]][at].append(tuple(r))
        return {i: (row, tuple(stages), tuple(locks), tuple(versions))
                for i, (row, stages, locks, versions) in rows.items()}

    def peek_prefetched(self, secret_id: str) -> tuple[Any, ...] | None:
        """What prefetch_secrets read of a secret and is still unused, left for the reads it
        serves: (secret, stage labels, locks, versions), or None."""
        keys = [("secret", secret_id), ("stages", secret_id), ("locks", secret_id), ("versions", secret_id)]
        if not all(k in self._prefetched for k in keys):
            return None
        secret, stages, locks, versions = (self._prefetched[k] for k in keys)
        return secret[0], dict(stages), list(locks), list(versions)

    def find_secret(self, group_id: str, secret_type: str, name: str) -> SecretRecord | None:
        q = select(t.secrets).where(
            t.secrets.c.secret_group_id == group_id,
            t.secrets.c.secret_type == secret_type,
            t.secrets.c.name == name,
        )
        row = self._c.execute(q).first()
        return _record(SecretRecord, row) if row else None

    def find_secret_by_token(self, token: str) -> SecretRecord | None:
        row = self._c.execute(select(t.secrets).where(t.secrets.c.client_request_token == token)).first()
        return _record(SecretRecord, row) if row else None

    def list_secrets(self, query: SecretQuery) -> tuple[list[SecretRecord], int]:
        conditions = self._secret_conditions(query)
        column = SORTABLE[query.sort]
        order = [column.desc() if query.descending else column.asc(), t.secrets.c.id.asc()]
        q: Select[Any] = select(t.secrets).where(*conditions).order_by(*order).offset(query.offset).limit(query.limit)
        rows = [_record(SecretRecord, r) for r in self._c.execute(q)]
        if len(rows) < query.limit and (rows or query.offset == 0):  # the last page: its end is the total
            return rows, query.offset + len(rows)
        return rows, self._total(query, conditions)

    def _total(self, query: SecretQuery, conditions: list[Any]) -> int:
        """Filtered by groups and types at most: summed from secret_counts; otherwise counted."""
        if query.search or query.labels:
            return int(self._c.execute(select(func.count()).select_from(t.secrets).where(*conditions)).scalar_one())
        c = t.secret_counts.c
        q = select(func.coalesce(func.sum(c.n), 0))
        if query.groups is not None:
            q = q.where(c.secret_group_id.in_(list(query.groups)))
        if query.secret_types:
            q = q.where(c.secret_type.in_(list(query.secret_types)))
        return int(self._c.execute(q).scalar_one())

    def _secret_conditions(self, query: SecretQuery) -> list[Any]:
        s = t.secrets.c
        conditions: list[Any] = []
        if query.groups is not None:
            conditions.append(s.secret_group_id.in_(list(query.groups)))
        if query.secret_types:
            conditions.append(s.secret_type.in_(list(query.secret_types)))
        for label in query.labels or ():
            conditions.append(
                exists().where(t.secret_labels.c.secret_id == s.id, t.secret_labels.c.label == label)
            )
        if query.search:
            conditions.append(s.id.in_(self._searched_ids(query.search)))
        return conditions

    def merge_search_index(self, pages: int, *, begin: bool) -> bool:
        """SQLite: one step of merging the search index's segments (search_upkeep.py), about
        ``pages`` pages, the first of a merge if ``begin``; False when there was nothing left."""
        return search_upkeep.merge_step(self._c, pages, begin=begin)

    def _searched_ids(self, term: str) -> Any:
        """The ids of secrets matching ``term``: a list when few match, so the page is planned from
        them (PostgreSQL, guessing many, would rather walk the sort order's index testing every
        secret for the term until the page fills); the subquery itself when many do. The list
        and the page are two statements: on PostgreSQL, read them in one snapshot
        (`SqlStore.reader(one_snapshot=True)`)."""
        frequencies = self._search_sample.frequencies() if self._search_sample else None
        found = matching_ids(term, self._c.dialect.name, frequencies)
        ids = self._c.execute(found.limit(FEW_MATCHES + 1)).scalars().all()
        return ids if len(ids) <= FEW_MATCHES else found

    def update_secret(self, secret_id: str, **changes: Any) -> None:
        self._drop_prefetched("secret", secret_id)
        searched = not _SEARCHED_FIELDS.isdisjoint(changes)  # labels among them
        params = {"row_id": secret_id, **changes}
        if not searched and self._hold("secret_update", _UPDATE_SECRET, params, ("secrets", secret_id)):
            return
        row = None
        try:
            if searched:  # the row comes back as updated, to rebuild its search text
                row = self._c.execute(_UPDATE_SECRET_SEARCHED, params).first()
            else:
                self._c.execute(_UPDATE_SECRET, params)
        except IntegrityError:
            raise Conflict(f"a secret named '{changes.get('name')}' already exists in this secret group", field="name") from None
        if "labels" in changes:
            self._c.execute(delete(t.secret_labels).where(t.secret_labels.c.secret_id == secret_id))
            self._write_labels(secret_id, changes["labels"])
        if row is not None:
            self._c.execute(_UPDATE_SEARCH, {"row_id": secret_id, "search_text": search_text(*row)})

    def delete_secret(self, secret_id: str) -> None:
        for what in ("secret", "stages", "locks", "versions"):
            self._drop_prefetched(what, secret_id)
        # Children first: SQLite enforces ON DELETE CASCADE only with the pragma on,
        # and explicit order keeps both backends identical.
        for table in (t.locks, t.version_stages, t.secret_labels, t.secret_versions, t.tasks, t.secret_search):
            self._c.execute(delete(table).where(table.c.secret_id == secret_id))
        gone = self._c.execute(delete(t.secrets).where(t.secrets.c.id == secret_id)
                               .returning(t.secrets.c.secret_group_id, t.secrets.c.secret_type)).first()
        if gone is not None:
            self.add_to_count(gone.secret_group_id, gone.secret_type, -1, shard=_shard(secret_id))

    def secrets_due_for_rotation(self, now: datetime, limit: int) -> list[DueRotation]:
        """Secrets whose next_rotation_date has come, oldest first, by the index on that column:
        what enqueueing their rotation reads of them. Locked with SKIP LOCKED on PostgreSQL so
        concurrent schedulers share the work."""
        q = _DUE_ROTATIONS[self._for_update]
        return [DueRotation(r.id, r.next_rotation_date, r.attributes)
                for r in self._c.execute(q, {"now": now, "limit": limit})]

    def secrets_expired_but_active(self, now: datetime, limit: int) -> list[SecretRecord]:
        q = _EXPIRED_ACTIVE[self._for_update]
        return [_record(SecretRecord, r) for r in self._c.execute(q, {"now": now, "limit": limit})]

    def _write_labels(self, secret_id: str, labels: Iterable[str]) -> None:
        rows = [{"secret_id": secret_id, "label": label} for label in dict.fromkeys(labels)]
        if self._held is not None:
            for row in rows:
                self._hold("label_insert", _insert_statement(t.secret_labels), row, ("secret_labels", secret_id, row["label"]))
        elif rows:
            self._c.execute(insert(t.secret_labels), rows)

    # -- versions ---------------------------------------------------------
    def insert_version(self, version: VersionRecord) -> None:
        self._drop_prefetched("versions", version.secret_id)
        if self._hold("version_insert", _insert_statement(t.secret_versions), _row(version),
                      ("secret_versions", version.id)):
            return
        self._insert(t.secret_versions, _row(version), "client_request_token was already used for another version")

    def get_version(self, secret_id: str, version_id: str) -> VersionRecord | None:
        row = self._c.execute(_GET_VERSION, {"secret_id": secret_id, "id": version_id}).first()
        return _record(VersionRecord, row) if row else None

    def get_secret_staged(self, secret_id: str, stage: str) -> tuple[SecretRecord, VersionRecord | None] | None:
        """The secret and the version holding ``stage`` (None when none does), in one statement."""
        row = _GET_SECRET_STAGED.first(self._c, {"id": secret_id, "stage": stage})
        if row is None:
            return None
        secret_at, version_at = _staged_positions()
        secret = SecretRecord(*[row[i] for i in secret_at])
        if row[version_at[0]] is None:  # no version holds the label
            return secret, None
        return secret, VersionRecord(*[row[i] for i in version_at])

    def get_staged_version(self, secret_id: str, stage: str) -> VersionRecord | None:
        """The version holding ``stage`` (one query: the label joined to its version)."""
        row = self._c.execute(_GET_STAGED_VERSION, {"secret_id": secret_id, "stage": stage}).first()
        return _record(VersionRecord, row) if row else None

    def list_versions(self, secret_id: str) -> list[VersionRecord]:
        """Newest first."""
        return [_record(VersionRecord, r) for r in self._c.execute(_LIST_VERSIONS, {"secret_id": secret_id})]

    def list_version_entries(self, secret_id: str) -> list[VersionEntry]:
        """Newest first: each version's id, number and whether it still holds its payload."""
        if self._prefetched and ("versions", secret_id) in self._prefetched:
            return self._prefetched.pop(("versions", secret_id))  # type: ignore[no-any-return]
        return [_entry(*r) for r in self._c.execute(_LIST_VERSION_ENTRIES, {"secret_id": secret_id})]

    def find_version_by_token(self, secret_id: str, token: str) -> VersionRecord | None:
        v = t.secret_versions.c
        row = self._c.execute(
            select(t.secret_versions).where(v.secret_id == secret_id, v.client_request_token == token)
        ).first()
        return _record(VersionRecord, row) if row else None

    def update_version(self, version_id: str, **changes: Any) -> None:
        params = {"row_id": version_id, **changes}
        if not self._hold("version_update", _UPDATE_VERSION, params, ("secret_versions", version_id)):
            self._c.execute(_UPDATE_VERSION, params)

    def erase_payloads(self, version_ids: Iterable[str], *, secret_id: str | None = None) -> None:
        """Drop the sealed data of these versions (of ``secret_id``, when the caller knows it)."""
        ids = list(version_ids)
        self._drop_prefetched("versions", secret_id)
        if self._held is not None:
            for version_id in ids:
                self._hold("payload_erase", _ERASE_PAYLOAD, {"row_id": version_id}, ("secret_versions", version_id))
            return
        if ids:
            self._c.execute(
                update(t.secret_versions)
                .where(t.secret_versions.c.id.in_(ids))
                .values(payload=None, wrapped_key=None, key_id=None)
            )

    def delete_versions(self, version_ids: Iterable[str], *, secret_id: str | None = None) -> None:
        ids = list(version_ids)
        self._drop_prefetched("versions", secret_id)
        if self._held is not None:
            for version_id in ids:
                self._hold("version_delete", _DELETE_VERSION, {"row_id": version_id}, ("secret_versions", version_id))
            return
        if ids:
            self._c.execute(delete(t.secret_versions).where(t.secret_versions.c.id.in_(ids)))

    def versions_sealed_with_other_keys(self, active_key_id: str, limit: int) -> list[VersionRecord]:
        v = t.secret_versions.c
        q = (
            select(t.secret_versions)
            .where(v.key_id.is_not(None), v.key_id != active_key_id)
            .order_by(v.id)
            .limit(limit)
        )
        return [_record(VersionRecord, r) for r in self._c.execute(q)]

    def count_versions_by_key(self) -> dict[str, int]:
        """How many sealed values (versions, configuration credentials, CA keys a rotation retired,
        webhook keys) each root key wraps."""
        counts: dict[str, int] = {}
        for table in (t.secret_versions, t.configurations, t.ca_keys, t.webhooks):
            q = select(table.c.key_id, func.count()).where(table.c.key_id.is_not(None)).group_by(table.c.key_id)
            for row in self._c.execute(q):
                counts[row[0]] = counts.get(row[0], 0) + int(row[1])
        return counts

    # -- stage labels -----------------------------------------------------
    def get_stages(self, secret_id: str) -> dict[str, str]:
        if self._prefetched and ("stages", secret_id) in self._prefetched:
            return self._prefetched.pop(("stages", secret_id))  # type: ignore[no-any-return]
        return {row.stage: row.version_id for row in self._c.execute(_GET_STAGES, {"secret_id": secret_id})}

    def set_stage(self, secret_id: str, stage: str, version_id: str, *, present: bool | None = None) -> None:
        """Put the label on ``version_id``, moving it if the secret holds it already
        (``present``: whether it does, as the caller read it; lets held_writes() hold the write)."""
        self._drop_prefetched("stages", secret_id)
        params = {"row_secret": secret_id, "row_stage": stage, "version_id": version_id}
        if present is False and self._held is not None:
            self.add_stage(secret_id, stage, version_id)
            return
        if present and self._hold("stage_update", _MOVE_STAGE, params, ("version_stages", secret_id, stage)):
            return
        moved = self._c.execute(_MOVE_STAGE, params)
        if not moved.rowcount:
            self.add_stage(secret_id, stage, version_id)

    def add_stage(self, secret_id: str, stage: str, version_id: str) -> None:
        """A label the secret does not hold yet (set_stage moves one it may hold)."""
        self._drop_prefetched("stages", secret_id)
        params = {"secret_id": secret_id, "stage": stage, "version_id": version_id}
        if not self._hold("stage_insert", _insert_statement(t.version_stages), params, ("version_stages", secret_id, stage)):
            self._c.execute(_insert_statement(t.version_stages), params)

    def remove_stage(self, secret_id: str, stage: str) -> None:
        self._drop_prefetched("stages", secret_id)
        params = {"secret_id": secret_id, "stage": stage}
        if not self._hold("stage_delete", _DELETE_STAGE, params, ("version_stages", secret_id, stage)):
            self._c.execute(_DELETE_STAGE, params)

    # -- locks ------------------------------------------------------------
    def list_locks(self, *, secret_id: str | None = None, version_id: str | None = None) -> list[LockRecord]:
        if secret_id is not None and version_id is None:
            if self._prefetched and ("locks", secret_id) in self._prefetched:
                return self._prefetched.pop(("locks", secret_id))  # type: ignore[no-any-return]
            return [_record(LockRecord, r) for r in self._c.execute(_LOCKS_OF_SECRET, {"secret_id": secret_id})]
        q = select(t.locks).order_by(t.locks.c.created_at, t.locks.c.name)
        if secret_id is not None:
            q = q.where(t.locks.c.secret_id == secret_id)
        if version_id is not None:
            q = q.where(t.locks.c.version_id == version_id)
        return [_record(LockRecord, r) for r in self._c.execute(q)]

    def upsert_lock(self, lock: LockRecord) -> None:
        self._drop_prefetched("locks", lock.secret_id)
        lk = t.locks
        existing = self._c.execute(
            select(lk.c.created_at, lk.c.created_by).where(lk.c.version_id == lock.version_id, lk.c.name == lock.name)
        ).first()
        if existing:
            self._c.execute(
                update(lk)
                .where(lk.c.version_id == lock.version_id, lk.c.name == lock.name)
                .values(description=lock.description, attributes=lock.attributes, updated_at=lock.updated_at)
            )
        else:
            self._c.execute(insert(lk).values(**_row(lock)))

    def delete_locks(self, version_id: str, names: Sequence[str] | None = None, *, secret_id: str | None = None) -> None:
        """Delete the locks of one version (all, or those named); with ``secret_id``
        and an empty version id, the named locks on every version of that secret."""
        self._drop_prefetched("locks", secret_id)
        lk = t.locks
        cond = [lk.c.secret_id == secret_id] if secret_id and not version_id else [lk.c.version_id == version_id]
        if names is not None:
            cond.append(lk.c.name.in_(list(names)))
        self._c.execute(delete(lk).where(and_(*cond)))

    def locked_secrets(
        self, *, groups: Sequence[str] | None, search: str | None, offset: int, limit: int
    ) -> tuple[list[SecretRecord], int]:
        """Secrets holding at least one lock (whose name contains ``search``), by name."""
        lk = t.locks.c
        cond = [lk.secret_id == t.secrets.c.id]
        if search:
            cond.append(func.lower(lk.name).like(f"%{_escape_like(search.lower())}%", escape="\\"))
        where = [exists().where(*cond)]
        if groups is not None:
            where.append(t.secrets.c.secret_group_id.in_(list(groups)))
        total = int(self._c.execute(select(func.count()).select_from(t.secrets).where(*where)).scalar_one())
        q = select(t.secrets).where(*where).order_by(t.secrets.c.name, t.secrets.c.id).offset(offset).limit(limit)
        return [_record(SecretRecord, r) for r in self._c.execute(q)], total

    def count_locks(self, secret_id: str) -> int:
        return int(self._c.execute(_COUNT_LOCKS, {"secret_id": secret_id}).scalar_one())

