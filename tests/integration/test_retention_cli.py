"""`ledger retention` (dry run and real), `ledger erase` and `ledger keys reconcile` on
SQLite and PostgreSQL: exactly what is due is erased, each erasure an event; events stored before
protection was on are listed as stored in clear; a restored key store is reconciled."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.composition import build_ledger
from api.settings import Settings
from tests.conftest import PG
from tests.scenarios import Scenario

OLD = date(2015, 1, 5)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The CLI's environment for a store in this test's directory (or schema)."""
    found = {"LEDGER_DATA_DIR": str(tmp_path), "LEDGER_STORE": "sqlite",
             "LEDGER_RETENTION_YEARS": "7", "LEDGER_PROTECT_TEXT": "true"}
    if request.param == "postgres":
        found.update(request.getfixturevalue("pg_env")["ledger"])
    return found


def settings_of(where: dict[str, str], protect: bool = True) -> Settings:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in where.items():
            patch.setenv(name, value)
        patch.setenv("LEDGER_PROTECT_TEXT", str(protect).lower())
        return Settings(_env_file=None)  # type: ignore[call-arg]


class KeyBackup:
    """A copy of the key store taken now, restored later (a file, or the table's rows)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        if settings.store == "sqlite":
            self.copy = settings.keys_file.with_suffix(".backup")
            shutil.copy(settings.keys_file, self.copy)
        else:
            self.rows = self._sql("SELECT key_id, wrapped, created_on FROM {t}")

    def restore(self) -> None:
        if self.settings.store == "sqlite":
            shutil.copy(self.copy, self.settings.keys_file)
            return
        self._sql("DELETE FROM {t}")
        for row in self.rows:
            self._sql("INSERT INTO {t} VALUES (%s, %s, %s, NULL)", row)

    def _sql(self, statement: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        import psycopg

        table = f'"{self.settings.postgres_schema}".ledger_data_keys'
        with psycopg.connect(host=PG["host"], port=PG["port"], dbname=PG["dbname"],
                             user=PG["user"], password=PG["password"], autocommit=True) as c:
            cursor = c.execute(statement.format(t=table), args)
            return cursor.fetchall() if cursor.description else []


def make(where: dict[str, str]) -> dict[str, object]:
    plain = build_ledger(settings_of(where, protect=False))
    scenario = Scenario(plain, on=OLD)
    agency = scenario.agency("Police")
    in_clear = scenario.review([agency], to="closed", reference="SSSCB-2015-01").review_id
    plain.close()
    ledger = build_ledger(settings_of(where))
    old = Scenario(ledger, on=OLD).review([agency], to="closed", reference="SSSCB-2015-02")
    recent = Scenario(ledger).review([agency], to="closed", reference="SSSCB-2026-01")
    still_open = Scenario(ledger).review([agency], reference="SSSCB-2026-02")
    head = ledger.head_position()
    ledger.close()
    return {"in_clear": in_clear, "old": old.review_id, "recent": recent.review_id,
            "open": still_open.review_id, "head": head}


def test_retention_erases_exactly_what_is_due(where: dict[str, str]):
    made, runner = make(where), CliRunner()
    dry = runner.invoke(app, ["retention", "--dry-run"], env=where)
    assert dry.exit_code == 0, dry.output
    assert "2 review(s) due" in dry.output
    assert "SSSCB-2015-01" in dry.output and "SSSCB-2015-02" in dry.output
    assert "SSSCB-2026" not in dry.output
    assert "stored in clear: position" in dry.output
    assert str(made["in_clear"]) in dry.output.split("stored in clear (")[1]

    real = runner.invoke(app, ["retention"], env=where)
    assert real.exit_code == 0, real.output
    assert real.output.count("erased:") == 2
    ledger = build_ledger(settings_of(where))
    try:
        assert ledger.head_position() == made["head"] + 2  # one TextErased each
        assert ledger.get_review(made["old"]).erasure is not None
        assert ledger.get_review(made["old"]).findings[0].text.startswith("[erased on ")
        assert ledger.get_review(made["recent"]).erasure is None
        assert ledger.get_review(made["recent"]).findings[0].text == "Bruising was not escalated"
        # Stored in clear before protection: its "erasure" is recorded, the text stays.
        assert ledger.get_review(made["in_clear"]).findings[0].text == \
            "Bruising was not escalated"
    finally:
        ledger.close()
    again = runner.invoke(app, ["retention", "--dry-run"], env=where)
    assert "0 review(s) due" in again.output
    report = runner.invoke(app, ["report", "yearly", "--format", "csv"], env=where)
    assert report.exit_code == 0, report.output
    assert "Refresh the bruising protocol training" in report.output  # revealed
    assert "sealed:v1:" not in report.output


def test_erase_and_a_restored_key_store_reconciled(where: dict[str, str]):
    made, runner = make(where), CliRunner()
    init = runner.invoke(app, ["init"], env=where)
    vkey = next(line.split()[-1] for line in init.output.splitlines()
                if line.startswith("public key"))
    assert runner.invoke(app, ["checkpoint", "--reason", "before"],
                         env=where).exit_code == 0
    backup = KeyBackup(settings_of(where))  # a backup taken before the erasure
    erased = runner.invoke(app, ["erase", "SSSCB-2026-02", "--reason", "subject request",
                                 "--basis", "right_to_erasure"], env=where)
    assert erased.exit_code == 0, erased.output
    refused = runner.invoke(app, ["erase", "SSSCB-2026-02", "--reason", "again",
                                  "--basis", "right_to_erasure"], env=where)
    assert refused.exit_code == 2 and "already erased" in refused.output

    assert runner.invoke(app, ["checkpoint", "--reason", "after"],
                         env=where).exit_code == 0
    verified = runner.invoke(app, ["verify", "--live", "--public-key", vkey],
                             env=where)
    assert verified.exit_code == 0, verified.output

    backup.restore()  # the restore brings the key back
    reconciled = runner.invoke(app, ["keys", "reconcile"], env=where)
    assert reconciled.exit_code == 0, reconciled.output
    assert "1 key(s) destroyed again" in reconciled.output
    ledger = build_ledger(settings_of(where))
    try:
        assert ledger.get_review(made["open"]).findings[0].text.startswith("[erased on ")
    finally:
        ledger.close()


def test_the_master_key_file_is_private_and_an_unsafe_one_refused(tmp_path: Path):
    import stat

    from api.data_protection import MasterKeyError, load_master_key

    settings = Settings(data_dir=tmp_path, protect_text=True)
    key = load_master_key(settings)
    assert len(key) == 32 and load_master_key(settings) == key
    assert stat.S_IMODE((tmp_path / "master.key").stat().st_mode) == 0o600
    (tmp_path / "master.key").chmod(0o644)
    try:
        load_master_key(settings)
    except MasterKeyError as error:
        assert "readable by others" in str(error)
    else:
        raise AssertionError("an unsafe master key file was accepted")


def test_a_partnerships_own_schedule_overrides_the_default(where: dict[str, str]):
    make(where)
    longer = {**where, "LEDGER_RETENTION_YEARS_BY_PARTNERSHIP": '{"ssscb": 20}'}
    dry = CliRunner().invoke(app, ["retention", "--dry-run"], env=longer)
    assert dry.exit_code == 0, dry.output
    assert "0 review(s) due" in dry.output
    shorter = {**where, "LEDGER_RETENTION_YEARS": "50",
               "LEDGER_RETENTION_YEARS_BY_PARTNERSHIP": '{"SSSCB": 1}'}
    dry = CliRunner().invoke(app, ["retention", "--dry-run"], env=shorter)
    assert "2 review(s) due" in dry.output  # the default alone (50 years) would give 0
