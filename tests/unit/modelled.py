"""The check the aggregates' state-machine tests make of every command in a random sequence:
a small model says whether the aggregate should accept it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from domain.errors import DomainError


def deep_state(aggregate: Any) -> dict[str, Any]:
    return copy.deepcopy(vars(aggregate))


def check_command(aggregate: Any, accepted: bool, command: Callable[[], object], what: object,
                  state: Callable[[Any], dict[str, Any]] = deep_state) -> None:
    """Run `command`: accepted, it records exactly one event; refused, it raises DomainError
    and leaves the aggregate as it was. Either way as the model says (`accepted`)."""
    before, version = state(aggregate), aggregate.version
    try:
        command()
    except DomainError:
        assert not accepted, f"{what} was refused"
        assert (aggregate.version, state(aggregate)) == (version, before)
        return
    assert accepted, f"{what} was accepted"
    assert aggregate.version == version + 1
