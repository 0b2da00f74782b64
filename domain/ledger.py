"""The Ledger application: every use case, composed from one mixin per aggregate."""

from __future__ import annotations

from domain.use_cases.actions import ActionUseCases
from domain.use_cases.agencies import AgencyUseCases
from domain.use_cases.challenges import ChallengeUseCases
from domain.use_cases.integrity import IntegrityUseCases
from domain.use_cases.partnerships import PartnershipUseCases
from domain.use_cases.reviews import ReviewUseCases
from domain.use_cases.users import UserUseCases


class Ledger(AgencyUseCases, UserUseCases, ActionUseCases, ChallengeUseCases, ReviewUseCases,
             IntegrityUseCases, PartnershipUseCases):
    """One object per process; its events table is named after it ("ledger_events")."""
