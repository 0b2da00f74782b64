"""Fixtures for application tests (the `ledger` and `scenario` fixtures live in
tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import pytest

from tests.scenarios import Scenario


@dataclass(frozen=True)
class CommissionedReview:
    review_id: UUID
    recommendation_id: UUID
    agency_id: UUID  # an active agency involved in the review
    other_agency_id: UUID  # a second active agency


@pytest.fixture
def commissioned_review(scenario: Scenario) -> CommissionedReview:
    """A review at reviewer_commissioned with a finding and a recommendation, involving two
    active agencies."""
    agency_id = scenario.agency("University Hospitals of North Midlands")
    other_id = scenario.agency("Staffordshire Police", kind="police")
    review = scenario.review([agency_id, other_id])
    return CommissionedReview(review.review_id, review.recommendation_id, agency_id, other_id)
