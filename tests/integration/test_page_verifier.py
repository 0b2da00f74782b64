"""docs/integrity.md's worked example checks out with the verifier written from the page
(page_verifier.py), and the package agrees with it: key IDs (0x01 and 0x04), the signed
note's exact bytes and the cosignature line."""

from __future__ import annotations

import re
from pathlib import Path

from ledger_verifier.verifier import Verifier, open_checkpoint
from tests.integration import page_verifier

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "integrity.md").read_text()


def block(name: str) -> str:
    found = re.search(rf"<!-- {name}:begin -->\n```\n(.*?)```\n<!-- {name}:end -->", PAGE,
                      re.DOTALL)
    assert found, name
    return found.group(1)


def line(label: str) -> str:
    found = re.search(rf"^{label}\s+(\S+)$", PAGE, re.MULTILINE)
    assert found, label
    return found.group(1)


def test_the_worked_example_verifies_from_the_page_alone_and_with_the_package():
    log, witness = line("log vkey"), line("witness vkey")
    log_key, witness_key = page_verifier.parse_vkey(log), page_verifier.parse_vkey(witness)
    assert (log_key.key_id.hex(), log_key.type) == ("98af023b", 1)
    assert (witness_key.key_id.hex(), witness_key.type) == ("ed05bc80", 4)
    assert log_key.public.hex() == line("log public key")
    assert witness_key.public.hex() == line("witness public key")

    note = block("example-note")
    cosigned = note + block("example-cosignature")
    text, verified = page_verifier.open_note(cosigned, [log_key, witness_key])
    assert text == "example.org/log\n1\nwBvAQ0HTyi+LD6GTlF5f69Js/kwrLpYsWXfIfpg1bWk=\n"
    assert text.encode().hex() in PAGE.replace("\n", "").replace(" ", "")
    assert [(k.name, when) for k, when in verified] == [("example.org/log", None),
                                                         ("witness.example/alice", 1700000000)]
    assert page_verifier.open_checkpoint(note, [log_key], {"example.org/log"})[0] == 1
    cp, opened = open_checkpoint(cosigned, [Verifier.from_vkey(log), Verifier.from_vkey(witness)],
                                 min_cosignatures=1)
    assert (cp.origin, cp.size, opened.text) == ("example.org/log", 1, text)


def test_a_name_cannot_hold_a_plus_but_the_key_may():
    log = line("log vkey")
    assert "+" in log.split("+", 2)[2]  # the base64 of this key holds a '+'
    assert page_verifier.parse_vkey(log).name == "example.org/log"
