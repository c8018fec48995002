"""Store methods for engine configurations (CAs, templates) and revocations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, case, delete, func, select, update

from lifecycle.records import ConfigRecord, RetiredKeyRecord, RevocationRecord
from lifecycle.store import schema as t
from lifecycle.store.tx_base import TxBase, _escape_like, _record, _row

_GET_CONFIG = select(t.configurations).where(t.configurations.c.name == bindparam("name"))
_GET_CONFIG_FOR_UPDATE = _GET_CONFIG.with_for_update()


class PkiTx(TxBase):
    # -- configurations and revocations ------------------------------------
    def insert_config(self, config: ConfigRecord) -> None:
        self._memo.pop(("config", config.name), None)
        self._insert(t.configurations, _row(config), f"a configuration named '{config.name}' already exists")

    def get_config(self, name: str, *, for_update: bool = False) -> ConfigRecord | None:
        """A configuration by name; read once per transaction (a batch of issuances asks for its
        template and CA each time), except when locking it."""
        if for_update and self._for_update:
            row = self._c.execute(_GET_CONFIG_FOR_UPDATE, {"name": name}).first()
            return _record(ConfigRecord, row) if row else None
        key = ("config", name)
        if key not in self._memo:
            row = self._c.execute(_GET_CONFIG, {"name": name}).first()
            self._memo[key] = _record(ConfigRecord, row) if row else None
        self._config_reads.setdefault(name, self._memo[key])  # assumed ones too, once asked for
        return self._memo[key]  # type: ignore[no-any-return]

    def configs_read(self) -> dict[str, ConfigRecord | None]:
        """The configurations this transaction has read (by get_config), as it first read them."""
        return dict(self._config_reads)

    def list_configs(
        self, *, types: Sequence[str] | None = None, search: str | None = None, offset: int = 0, limit: int | None = None,
        sort: str | None = None, descending: bool = False,
    ) -> tuple[list[ConfigRecord], int]:
        """A page of configurations, in creation order unless ``sort`` names config_type,
        secret_type or name (ties in creation order)."""
        c = t.configurations.c
        where: list[Any] = []
        if types:
            where.append(c.config_type.in_(list(types)))
        if search:
            where.append(func.lower(c.name).like(f"%{_escape_like(search.lower())}%", escape="\\"))
        total = int(self._c.execute(select(func.count()).select_from(t.configurations).where(*where)).scalar_one())
        key = {"config_type": c.config_type, "name": c.name,
               "secret_type": case((c.config_type.like("public_cert%"), "public_cert"), else_="private_cert"),
               None: None}[sort]
        order = [] if key is None else [key.desc() if descending else key.asc()]
        q = select(t.configurations).where(*where).order_by(*order, c.created_at, c.name).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        return [_record(ConfigRecord, r) for r in self._c.execute(q)], total

    def update_config(self, name: str, **changes: Any) -> None:
        self._memo.pop(("config", name), None)
        self._c.execute(update(t.configurations).where(t.configurations.c.name == name).values(**changes))

    def delete_config(self, name: str) -> None:
        self._memo.pop(("config", name), None)
        self._c.execute(delete(t.revocations).where(t.revocations.c.ca_name == name))
        self._c.execute(delete(t.ca_keys).where(t.ca_keys.c.ca_name == name))
        self._c.execute(delete(t.configurations).where(t.configurations.c.name == name))

    def count_secrets_with_attribute(self, secret_type: str, key: str, value: str) -> int:
        s = t.secrets.c
        q = select(func.count()).select_from(t.secrets).where(
            s.secret_type == secret_type, s.attributes[key].as_string() == value
        )
        return int(self._c.execute(q).scalar_one())

    def configs_sealed_with_other_keys(self, active_key_id: str, limit: int) -> list[ConfigRecord]:
        """Locked on PostgreSQL: a configuration patched meanwhile (sealed anew) is read as
        patched, never rewrapped from its old sealed form."""
        c = t.configurations.c
        q = select(t.configurations).where(c.key_id.is_not(None), c.key_id != active_key_id).order_by(c.name).limit(limit)
        if self._for_update:
            q = q.with_for_update()
        return [_record(ConfigRecord, r) for r in self._c.execute(q)]

    # -- keys a CA signed with before a rotation ------------------------------
    def insert_retired_key(self, key: RetiredKeyRecord) -> None:
        self._insert(t.ca_keys, _row(key), f"'{key.ca_name}' already has a key of generation {key.generation}")

    def list_retired_keys(self, ca_name: str, *, for_update: bool = False) -> list[RetiredKeyRecord]:
        """The CA's retired keys, oldest generation first."""
        k = t.ca_keys.c
        q = select(t.ca_keys).where(k.ca_name == ca_name).order_by(k.generation)
        if for_update and self._for_update:
            q = q.with_for_update()
        return [_record(RetiredKeyRecord, r) for r in self._c.execute(q)]

    def update_retired_key(self, ca_name: str, generation: int, **changes: Any) -> None:
        k = t.ca_keys.c
        self._c.execute(update(t.ca_keys).where(k.ca_name == ca_name, k.generation == generation).values(**changes))

    def delete_retired_key(self, ca_name: str, generation: int) -> None:
        k = t.ca_keys.c
        self._c.execute(delete(t.ca_keys).where(k.ca_name == ca_name, k.generation == generation))

    def retired_keys_sealed_with_other_keys(self, active_key_id: str, limit: int) -> list[RetiredKeyRecord]:
        k = t.ca_keys.c
        q = select(t.ca_keys).where(k.key_id != active_key_id).order_by(k.ca_name, k.generation).limit(limit)
        if self._for_update:
            q = q.with_for_update()
        return [_record(RetiredKeyRecord, r) for r in self._c.execute(q)]

    def insert_revocation(self, revocation: RevocationRecord) -> None:
        self._insert(t.revocations, _row(revocation), f"serial {revocation.serial} is already revoked")

    def get_revocation(self, ca_name: str, serial: str) -> RevocationRecord | None:
        r = t.revocations.c
        row = self._c.execute(select(t.revocations).where(r.ca_name == ca_name, r.serial == serial)).first()
        return _record(RevocationRecord, row) if row else None

    def list_revocations(self, ca_name: str) -> list[RevocationRecord]:
        r = t.revocations.c
        q = select(t.revocations).where(r.ca_name == ca_name).order_by(r.revoked_at, r.serial)
        return [_record(RevocationRecord, row) for row in self._c.execute(q)]

