"""DirectSelect (lifecycle/store/direct.py) on SQLite and PostgreSQL: the rows it reads through
the driver's cursor are the rows `Connection.execute` gives (JSON, UTC datetimes, booleans,
NULLs), in the transaction the store opened; driver errors arrive as SQLAlchemy's, their
parameters hidden; statements it could not run faithfully are refused when compiled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import bindparam, column, select, table
from sqlalchemy.exc import DBAPIError

from fixtures.records import T0, secret_record, version_record
from lifecycle.errors import StoreUnavailable
from lifecycle.store import SqlStore
from lifecycle.store import schema as t
from lifecycle.store.direct import DirectSelect
from lifecycle.store.tx_secrets import _GET_SECRET_STAGED

FULL = secret_record(1, description="payments db", labels=["prod", "eu"], custom_metadata={"team": {"id": 7}},
                     attributes={"ttl": "1h"}, expiration_date=T0 + timedelta(days=30), retrieved_at=T0,
                     downloaded=True, versions_total=1, next_rotation_date=T0 + timedelta(days=1))
BARE = secret_record(2)  # NULL dates and description, no version


@pytest.fixture
def stocked(store: SqlStore) -> SqlStore:
    with store.transaction() as tx:
        tx.insert_secret(FULL)
        tx.insert_version(version_record(FULL.id, 1, custom_metadata={"k": [1, 2]}, downloaded=True))
        tx.add_stage(FULL.id, "current", version_record(FULL.id, 1).id)
        tx.insert_secret(BARE)
    return store


@pytest.mark.parametrize(("secret_id", "stage"), [(FULL.id, "current"), (FULL.id, "previous"),
                                                  (BARE.id, "current"), ("no-such-id", "current")])
def test_rows_are_those_of_connection_execute(stocked: SqlStore, secret_id: str, stage: str) -> None:
    params = {"id": secret_id, "stage": stage}
    for unwrapped in (False, True):
        with stocked.reader(unwrapped=unwrapped) as tx:
            direct = _GET_SECRET_STAGED.first(tx._c, params)
            through_sqlalchemy = tx._c.execute(_GET_SECRET_STAGED.statement, params).first()
        expected = None if through_sqlalchemy is None else tuple(through_sqlalchemy)
        assert direct == expected
        if direct is not None:
            assert [type(v) for v in direct] == [type(v) for v in expected]


def test_the_store_reads_a_secret_and_its_version_as_written(stocked: SqlStore) -> None:
    with stocked.reader(unwrapped=True) as tx:
        secret, version = tx.get_secret_staged(FULL.id, "current")
        bare, none = tx.get_secret_staged(BARE.id, "current")
    assert secret == FULL and version == version_record(FULL.id, 1, custom_metadata={"k": [1, 2]}, downloaded=True)
    assert secret.expiration_date.tzinfo is not None and secret.downloaded is True
    assert bare == BARE and none is None


def test_a_write_transaction_reads_its_own_uncommitted_rows(stocked: SqlStore) -> None:
    with stocked.transaction() as tx:
        tx.update_secret(BARE.id, name="renamed")
        row = _GET_SECRET_STAGED.first(tx._c, {"id": BARE.id, "stage": "current"})
        names = [c.name for c in _GET_SECRET_STAGED.statement.selected_columns]
        assert row[names.index("s_name")] == "renamed"


def test_a_driver_error_is_sqlalchemys_with_parameters_hidden(stocked: SqlStore) -> None:
    missing = DirectSelect(select(column("x")).select_from(table("no_such_table"))
                           .where(column("x") == bindparam("x")))
    with pytest.raises(DBAPIError) as raised, stocked.engine.connect() as conn:
        missing.first(conn, {"x": "sekrit-value"})
    assert "no_such_table" in str(raised.value) and "sekrit-value" not in str(raised.value)


def test_a_driver_error_inside_a_reader_is_a_store_error(stocked: SqlStore) -> None:
    missing = DirectSelect(select(column("x")).select_from(table("no_such_table")))
    with pytest.raises(StoreUnavailable), stocked.reader() as tx:
        missing.first(tx._c, {})


def test_statements_it_cannot_run_faithfully_are_refused(stocked: SqlStore) -> None:
    expanding = DirectSelect(select(t.secrets.c.id).where(t.secrets.c.id.in_(bindparam("ids", expanding=True))))
    converted = DirectSelect(select(t.secrets.c.id).where(t.secrets.c.created_at == bindparam("at", type_=t.UTCDateTime)))
    with stocked.engine.connect() as conn:
        with pytest.raises(ValueError, match="expanding"):
            expanding.first(conn, {"ids": [FULL.id]})
        with pytest.raises(ValueError, match="parameter 'at' needs bind processing"):
            converted.first(conn, {"at": T0})
