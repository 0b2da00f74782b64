"""Fixtures for application tests (the `ledger` fixture itself lives in tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest

from domain.actors import Actor, Role
from domain.application import Context

# ---- reviews for action and challenge tests --------------------------------------------
MANAGER = Context(Actor(user_id="u-manager", role=Role.SCB_MANAGER, name="SCB Manager"))


@dataclass(frozen=True)
class CommissionedReview:
    review_id: UUID
    recommendation_id: UUID
    agency_id: UUID  # an active agency involved in the review
    other_agency_id: UUID  # a second active agency


class ReviewBuilder:
    """Records reviews through the use cases, as the SCB manager."""

    def __init__(self, ledger: Any) -> None:
        self.ledger = ledger

    def agency(self, name: str, kind: str = "health") -> UUID:
        return self.ledger.register_agency(MANAGER, name=name, kind=kind,
                                           statutory_partner=False, partnerships=["SSSCB"]).id

    def incident(self, agencies: list[UUID], reference: str = "SSSCB-2025-03") -> UUID:
        return self.ledger.record_incident(
            MANAGER, reference=reference, partnership="SSSCB",
            local_authority_area="Stoke-on-Trent", age_band="under_1", harm="serious_harm",
            category="non_accidental_injury", legal_status="child_in_need",
            agencies_involved=agencies,
        ).id

    def commission(self, review_id: UUID) -> UUID:
        """Take a recorded incident to reviewer_commissioned; returns a recommendation id."""
        ledger = self.ledger
        ledger.notify_panel(MANAGER, review_id)
        ledger.complete_rapid_review(MANAGER, review_id, summary="Facts gathered with partners")
        ledger.record_local_decision(MANAGER, review_id, conduct_review=True,
                                     criteria=["multi_agency_concerns"],
                                     rationale="Concerns about information sharing")
        ledger.commission_reviewer(MANAGER, review_id, reviewer="Independent Reviewer Ltd")
        finding = ledger.record_finding(MANAGER, review_id, text="Bruising was not escalated",
                                        themes=["bruising-in-non-mobile-babies"])
        return ledger.record_recommendation(
            MANAGER, review_id, text="Refresh the bruising protocol training",
            finding_ids=[finding.item_id],
        ).item_id


@pytest.fixture
def review_builder(ledger: Any) -> ReviewBuilder:
    return ReviewBuilder(ledger)


@pytest.fixture
def commissioned_review(review_builder: ReviewBuilder) -> CommissionedReview:
    agency_id = review_builder.agency("University Hospitals of North Midlands")
    other_id = review_builder.agency("Staffordshire Police", kind="police")
    review_id = review_builder.incident([agency_id, other_id])
    recommendation_id = review_builder.commission(review_id)
    return CommissionedReview(review_id, recommendation_id, agency_id, other_id)
