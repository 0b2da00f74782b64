"""Read models of the ledger (see projections/base.py for how each one is built).

VIEWS maps each view's name (used by `ledger rebuild VIEW`, /readyz and the status table) to
its projection class, in the order they are applied.
"""

from __future__ import annotations

from projections.actions import ActionStatusProjection
from projections.audit import AuditTrail
from projections.base import ViewProjection
from projections.challenges import ChallengeRegister
from projections.directory import Directory
from projections.reviews import ReviewRegister
from projections.themes import ThemesProjection

VIEWS: dict[str, type[ViewProjection]] = {
    cls.name: cls for cls in (
        Directory, ReviewRegister, ActionStatusProjection, ChallengeRegister,
        ThemesProjection, AuditTrail,
    )
}
VIEW_NAMES: tuple[str, ...] = tuple(VIEWS)

__all__ = ["VIEWS", "VIEW_NAMES"]
