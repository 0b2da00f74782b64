"""PostgreSQL: the events table refuses UPDATE, DELETE and TRUNCATE.

A trigger (and revoked privileges) stop the application, a bug, or a careless operator from
changing history. They do not stop a database superuser or the table's owner, who can drop
the trigger or set session_replication_role = replica: the evidence that nothing changed is
the signed checkpoints held outside the service (docs/integrity.md).
"""

from __future__ import annotations

import logging
from typing import Any

FUNCTION = "sgl_refuse_change"
log = logging.getLogger("ledger.integrity")


def install_append_only_guard(ledger: Any) -> bool:
    """Install the guard on the ledger's events table (idempotent). False when there is
    nothing to guard (not PostgreSQL) or the role may not (not the table's owner)."""
    recorder = ledger.recorder
    if not type(recorder).__module__.endswith(".postgres"):
        return False
    from psycopg import sql

    datastore = recorder.datastore
    schema = sql.Identifier(datastore.schema or "public")
    table = sql.Identifier(recorder.events_table_name)
    function = sql.SQL("{}.{}").format(schema, sql.Identifier(FUNCTION))
    statements = [
        sql.SQL("CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS "
                "$$BEGIN RAISE EXCEPTION 'the ledger is append-only: % on % refused', "
                "TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END$$"
                ).format(function=function),
        sql.SQL("CREATE OR REPLACE TRIGGER sgl_append_only BEFORE UPDATE OR DELETE ON "
                "{schema}.{table} FOR EACH ROW EXECUTE FUNCTION {function}()"
                ).format(schema=schema, table=table, function=function),
        sql.SQL("CREATE OR REPLACE TRIGGER sgl_no_truncate BEFORE TRUNCATE ON "
                "{schema}.{table} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
                ).format(schema=schema, table=table, function=function),
        sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {schema}.{table} FROM PUBLIC"
                ).format(schema=schema, table=table),
    ]
    import psycopg

    try:
        with datastore.get_connection() as conn, conn.transaction():
            # Serialise installers (CREATE OR REPLACE TRIGGER is not concurrency-safe).
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (FUNCTION,))
            for statement in statements:
                conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege as error:
        # Only the table's owner can add the trigger: say so, and run without the guard.
        log.warning("the append-only guard could not be installed (%s); run `ledger init` "
                    "as the owner of the events table", error)
        return False
    return True
