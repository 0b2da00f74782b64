"""What a Board query over HTTP can reach on this machine at most (bench/http_bench.py, part
6): the server `ledger serve` uses (uvicorn, two workers, h11) with FastAPI endpoints that do
almost nothing: a constant page the size of a Board answer, and one query through an
asynchronous connection pool answering 25 rows. A Board endpoint does strictly more
(authentication, its own queries, its response models, the service's middleware).

    CEILING_DSN="host=127.0.0.1 dbname=postgres user=postgres" \
        uvicorn bench.ceiling_app:app --workers 2 --http h11
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

ROW = {"agency_id": "4b0e3c55-9a0c-4c43-9f7c-1f3a2b6d7e81", "name": "Anytown Police",
       "open": 42, "overdue": 7, "escalation": "board"}
PAGE = {"items": [ROW] * 25, "next": None}
ONE_QUERY = ("SELECT g AS position, md5(g::text) AS summary "
             "FROM generate_series(1, 25) AS g")

pool = AsyncConnectionPool(os.environ.get("CEILING_DSN", ""), min_size=4, max_size=8,
                           open=False)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    await pool.open()
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/readyz")
async def ready() -> dict[str, bool]:
    return {"ready": True}


@app.get("/constant")
async def constant() -> dict[str, Any]:
    return PAGE


@app.get("/one-query")
async def one_query() -> dict[str, Any]:
    async with pool.connection() as conn:
        cursor = await conn.execute(ONE_QUERY)
        rows = await cursor.fetchall()
    return {"items": [{"position": p, "summary": s} for p, s in rows], "next": None}
