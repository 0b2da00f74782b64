"""Action plans in and out of Excel, on each store: a generated plan records exactly its rows
(one Action.Assigned each, the file's name and row as its source) and a second import of the
same file records nothing; a plan with bad rows records nothing and names every bad row; the
upload form previews and records; the export read back with openpyxl equals the ledger."""

from __future__ import annotations

import base64
import io
import re
from datetime import date
from typing import Any
from uuid import UUID

from openpyxl import load_workbook

from api.action_plan import agency_lookup, generated_plan, read_preview, record
from tests.api.test_pages import sign_in
from tests.principals import AS_OPERATOR, MANAGER
from tests.scenarios import Scenario

AGENCIES = ["Staffordshire Police", "Stoke-on-Trent City Council"]


def a_review(api: Any) -> Any:
    scenario = Scenario(api.ledger)
    recommended = scenario.review([api.agency_a, api.agency_b])
    for text in ("Second", "Third"):
        api.ledger.record_recommendation(scenario_ctx(), recommended.review_id, text=text,
                                         finding_ids=[recommended.finding_id])
    return api.ledger.get_review(recommended.review_id)


def scenario_ctx() -> Any:
    from tests.principals import AS_MANAGER
    return AS_MANAGER


def lookup(api: Any) -> dict[str, UUID]:
    return agency_lookup([{"agency_id": api.agency_a, "name": AGENCIES[0]},
                          {"agency_id": api.agency_b, "name": AGENCIES[1]}])


def manager(api: Any, name: str) -> Any:
    user = api.ledger.register_user(AS_OPERATOR, name=name, role="scb_manager").id
    return api.ledger.get_user(user).as_actor()


def test_a_plan_records_exactly_its_rows_once(api: Any) -> None:
    review = a_review(api)
    data = generated_plan(AGENCIES, 500)
    first, second = manager(api, "First manager"), manager(api, "Second manager")
    preview = read_preview(data, "plan.xlsx", review, review.reference, lookup(api), first,
                           api.ledger)
    assert preview.clean, [r.problems for r in preview.bad_rows][:3]
    made = record(api.ledger, first, preview)
    assert len(made) == 500
    assigned = api.ledger.action_history(made[0])[0].event
    assert assigned.source == "plan.xlsx row 3" and assigned.actor.role == "scb_manager"
    for who, name in ((first, "renamed.xlsx"), (second, "plan.xlsx")):  # whoever, however named
        again = read_preview(data, name, review, review.reference, lookup(api), who,
                             api.ledger)
        assert len(again.to_record) == 0 and record(api.ledger, who, again) == []


def test_bad_rows_are_all_named_and_nothing_is_recorded(api: Any) -> None:
    review = a_review(api)
    data = generated_plan(AGENCIES, 12, bad={2: "agency", 5: "date", 7: "action", 9: "rag"})
    head = api.ledger.head_position()
    preview = read_preview(data, "plan.xlsx", review, review.reference, lookup(api), MANAGER,
                           api.ledger)
    bad = {r.row: r.problems for r in preview.bad_rows}
    assert sorted(bad) == [5, 8, 10, 12]
    assert "unknown agency 'Ministry of Nowhere'" in bad[5]
    assert "'next spring' is not a date" in bad[8][0]
    assert bad[10] == ["the action is empty"]
    assert "RAG 'purple' is not red, amber or green" in bad[12]
    assert api.ledger.head_position() == head


def test_the_upload_form_previews_then_records_and_the_export_reads_back(api: Any) -> None:
    review = a_review(api)
    client = sign_in(api, "scb_manager")
    page = client.get(f"/view/reviews/{review.id}/import").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    bad = generated_plan(AGENCIES, 6, bad={1: "agency", 4: "date"})
    refused = client.post(f"/view/reviews/{review.id}/import", data={"csrf_token": token},
                          files={"file": ("plan.xlsx", bad)})
    assert refused.status_code == 422
    assert "Row 4:" in refused.text and "Row 7:" in refused.text
    good = generated_plan(AGENCIES, 6, start=date.today())
    shown = client.post(f"/view/reviews/{review.id}/import", data={"csrf_token": token},
                        files={"file": ("plan.xlsx", good)})
    assert shown.status_code == 200 and "Record 6 actions" in shown.text
    hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', shown.text))
    done = client.post(f"/view/reviews/{review.id}/import", data=hidden,
                       files={"file": ("", b"")}, follow_redirects=False)
    assert done.status_code == 303
    exported = client.get(f"/view/reviews/{review.id}/action-plan.xlsx",
                          params={"position": api.ledger.head_position()})
    sheet = load_workbook(io.BytesIO(exported.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("Recommendation", "Action", "Lead agency", "Milestones",
                           "Target date")
    source = load_workbook(io.BytesIO(good)).active
    wanted = {(r[1], r[2], r[4].date()) for r in list(source.iter_rows(values_only=True))[2:]}
    got = {(r[1], r[2], r[4].date()) for r in rows[1:]}
    assert got == wanted


def test_the_export_writes_dates_as_dates_and_rag_as_a_coloured_word() -> None:
    from api.action_plan import to_xlsx

    data = to_xlsx([{"recommendation": "R1", "action": "Train", "agency": "Police",
                     "due_on": date(2026, 3, 31), "rag": "red"}], "Plan")
    sheet = load_workbook(io.BytesIO(data)).active
    due, rag = sheet["E2"], sheet["F2"]
    assert due.is_date and due.value.date() == date(2026, 3, 31)
    assert rag.value == "red" and rag.fill.start_color.rgb.endswith("F4A6A6")


def test_an_unknown_heading_is_mapped_and_the_mapping_saved(api: Any) -> None:
    from openpyxl import Workbook

    review = a_review(api)
    book = Workbook()
    book.active.append(["Recommendation", "What we will do", "Lead agency", "Target date"])
    book.active.append(["R1", "Train staff", AGENCIES[0], date(2030, 1, 1)])
    data = io.BytesIO()
    book.save(data)
    client = sign_in(api, "scb_manager")
    page = client.get(f"/view/reviews/{review.id}/import").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    shown = client.post(f"/view/reviews/{review.id}/import", data={"csrf_token": token},
                        files={"file": ("plan.xlsx", data.getvalue())})
    assert shown.status_code == 422 and "no column for action" in shown.text
    assert "“What we will do” is" in shown.text
    mapped = client.post(f"/view/reviews/{review.id}/import", files={"file": ("", b"")},
                         data={"csrf_token": token, "file_name": "plan.xlsx",
                               "file_data": base64.b64encode(
                                   data.getvalue()).decode(),
                               "heading_0": "What we will do", "column_0": "action",
                               "save_mapping": "yes"})
    assert mapped.status_code == 200 and "Record 1 action" in mapped.text
    again = client.post(f"/view/reviews/{review.id}/import", data={"csrf_token": token},
                        files={"file": ("plan.xlsx", data.getvalue())})
    assert "Record 1 action" in again.text  # the saved mapping is used
