"""Who may do what is written once, as grants in domain/actors.py: the README's Roles table,
`ledger docs roles` and the /docs page are rendered from them and must agree."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from domain.actors import ROLES_PREAMBLE, Role, render_roles_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_roles_table_is_the_one_rendered_from_the_grants() -> None:
    text = README.read_text()
    start = text.index("\n", text.index("<!-- roles:begin")) + 1
    end = text.index("<!-- roles:end -->")
    assert text[start:end] == ROLES_PREAMBLE + render_roles_table(), (
        "README's Roles table differs from the grants: paste `ledger docs roles` into it")


def test_ledger_docs_roles_prints_the_table() -> None:
    result = CliRunner().invoke(cli, ["docs", "roles"])
    assert result.exit_code == 0
    assert result.output == ROLES_PREAMBLE + render_roles_table()


def test_the_docs_page_shows_the_table() -> None:
    description = create_app().openapi()["info"]["description"]
    assert render_roles_table() in description


def test_the_table_has_a_column_per_role_and_no_operator() -> None:
    header = render_roles_table().splitlines()[0]
    assert all(f"`{r.value}`" in header for r in Role if r is not Role.OPERATOR)
    assert "operator" not in header
