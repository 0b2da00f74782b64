"""The guard against identifying data over HTTP, on every store: 422 naming the field and
what was found (never the value), and nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_api_refusals import Case, case, refused  # noqa: F401 (a fixture)

NHS = "Seen under NHS number 943 476 5919"


@pytest.mark.parametrize("who, template, body, field", [
    ("scb_manager", "/reviews/{review}/findings", {"text": NHS, "themes": []}, "text"),
    ("lead_a", "/actions/{action}/progress",
     {"narrative": "Visited ST4 1AA", "rag": "amber"}, "narrative"),
    ("lead_a", "/actions/{action}/progress",
     {"narrative": "ok", "rag": "amber", "evidence": ["born 03/04/2019"]}, "evidence"),
    ("scrutineer", "/challenges", {"subject_type": "action_update", "subject_id": "{action}",
                                   "grounds": "DOB 1 May 2018", "addressed_to": "{agency}"},
     "grounds"),
])
def test_identifying_data_in_free_text_is_refused(api: Any, case: Case, who: str,  # noqa: F811
                                                  template: str, body: dict[str, Any],
                                                  field: str):
    filled = {k: (v.format(action=case.action, agency=api.agency_a) if isinstance(v, str)
                  and v.startswith("{") else v) for k, v in body.items()}
    problem = refused(api, 422, lambda: api.post(who, case.path(template), filled))
    assert [e["field"] for e in problem["errors"]] == [field]
    assert "must not hold identifying data" in problem["detail"]
    assert "943 476 5919" not in problem["detail"] and "ST4 1AA" not in problem["detail"]


def test_erasure_without_text_protection_is_refused_writing_nothing(api: Any,
                                                                    case: Case):  # noqa: F811
    problem = refused(api, 409, lambda: api.post(
        "scb_manager", case.path("/reviews/{review}/erasure"),
        {"reason": "subject request", "basis": "right_to_erasure"}))
    assert "LEDGER_PROTECT_TEXT" in problem["detail"]
    refused(api, 403, lambda: api.post("board_member", case.path("/reviews/{review}/erasure"),
                                       {"reason": "r", "basis": "right_to_erasure"}))
