"""The thread that keeps the Merkle log level with the events outlives a store's hiccup."""

from __future__ import annotations

import threading

from api.integrity_service import MerkleFollower


class FlakyService:
    """catch_up fails once, as when the store is out of reach for a moment, then works."""

    def __init__(self) -> None:
        self.calls = 0
        self.caught_up = threading.Event()

    def catch_up(self) -> None:
        self.calls += 1
        if self.calls == 1:
            raise OSError("connection refused")
        self.caught_up.set()


def test_the_merkle_follower_tries_again_after_the_store_fails_for_a_moment() -> None:
    service = FlakyService()
    follower = MerkleFollower(service, interval=0.01)  # type: ignore[arg-type]
    try:
        assert service.caught_up.wait(5)
        assert follower.thread.is_alive()
    finally:
        follower.stop()
    assert follower.error is None
