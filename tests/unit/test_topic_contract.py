"""Stored event topics are a persistence contract: every topic the ledger has ever written
must still resolve to its class. Renaming or moving an event class breaks old ledgers unless
the old topic is registered (eventsourcing's register_topic); this test makes that visible.
Add new topics here; never remove one."""

from __future__ import annotations

import pytest
from eventsourcing.utils import resolve_topic

STORED_TOPICS = [
    "domain.action:Action.Assigned",
    "domain.action:Action.CompletionAssured",
    "domain.action:Action.CompletionClaimed",
    "domain.action:Action.CompletionRejected",
    "domain.action:Action.DueDateRevised",
    "domain.action:Action.Escalated",
    "domain.action:Action.EscalatedToBoard",
    "domain.action:Action.EntryCorrected",
    "domain.action:Action.EntryRetracted",
    "domain.action:Action.OwnerTransferred",
    "domain.action:Action.HeldToAccount",
    "domain.action:Action.ImpactEvaluated",
    "domain.action:Action.ProgressReported",
    "domain.action:Action.Withdrawn",
    "domain.agency:Agency.Merged",
    "domain.agency:Agency.Registered",
    "domain.agency:Agency.Renamed",
    "domain.agency:Agency.Retired",
    "domain.challenge:Challenge.Escalated",
    "domain.challenge:Challenge.Raised",
    "domain.challenge:Challenge.Readdressed",
    "domain.challenge:Challenge.Resolved",
    "domain.challenge:Challenge.Responded",
    "domain.checkpoint:IntegrityLog.CheckpointRecorded",
    "domain.checkpoint:IntegrityLog.CosignatureAdded",
    "domain.checkpoint:IntegrityLog.LogRotated",
    "domain.checkpoint:IntegrityLog.Opened",
    "domain.checkpoint:IntegrityLog.WitnessRegistered",
    "domain.idempotency:IdempotencyRecord.KeyUsed",
    "domain.operations:ProjectionSkip.Skipped",
    "domain.partnership:Partnership.Registered",
    "domain.partnership:PartnershipIndex.Listed",
    "domain.partnership:PartnershipIndex.Opened",
    "domain.review:Review.Closed",
    "domain.review:Review.DateCorrected",
    "domain.review:Review.EntryCorrected",
    "domain.review:Review.EntryRetracted",
    "domain.review:Review.FindingRecorded",
    "domain.review:Review.IncidentRecorded",
    "domain.review:Review.LocalDecisionMade",
    "domain.review:Review.NationalPanelDecisionRecorded",
    "domain.review:Review.PanelNotified",
    "domain.review:Review.PublicationDeferred",
    "domain.review:Review.Published",
    "domain.review:Review.RapidReviewCompleted",
    "domain.review:Review.RecommendationRecorded",
    "domain.review:Review.ReportSubmitted",
    "domain.review:Review.ReviewerCommissioned",
    "domain.review:Review.Scrutinised",
    "domain.review:Review.SentToPanel",
    "domain.review:Review.SignedOff",
    "domain.review:ReviewReference.Indexed",
    "domain.user:TokenIndex.Indexed",
    "domain.user:User.Deactivated",
    "domain.user:User.PartnershipsSet",
    "domain.user:User.Registered",
    "domain.user:User.SignInLinkIssued",
    "domain.user:User.SignedIn",
    "domain.user:User.SignedOut",
    "domain.user:User.TokenIssued",
    "domain.user:User.TokenRevoked",
]


@pytest.mark.parametrize("topic", STORED_TOPICS)
def test_stored_topic_still_resolves(topic):
    event_class = resolve_topic(topic)
    assert event_class.__qualname__ == topic.split(":")[1]
