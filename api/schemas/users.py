"""User requests and responses. Token hashes never leave the server; a token is shown once."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Role
from domain.user import User


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    role: Role = Field(description="scb_manager, agency_lead, board_member, scrutineer, auditor")
    agency_id: UUID | None = Field(None, description="required for agency leads only")
    partnerships: list[str] = Field(
        default_factory=list, description="partnerships the user belongs to (a Board member "
                                          "then reads only theirs)")


class TokenOut(BaseModel):
    token_id: str
    issued_on: date
    revoked: bool


class UserOut(BaseModel):
    id: UUID
    version: int
    name: str
    role: str
    agency_id: UUID | None
    active: bool
    partnerships: list[str] = Field(default_factory=list)
    tokens: list[TokenOut]

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(id=user.id, version=user.version, name=user.name, role=user.role.value,
                   agency_id=user.agency_id, active=user.active,
                   partnerships=list(user.partnerships),
                   tokens=[TokenOut(token_id=t.token_id, issued_on=t.issued_on,
                                    revoked=t.revoked) for t in user.tokens.values()])


class IssuedTokenOut(BaseModel):
    user: UserOut
    token_id: str
    token: str | None = Field(
        description="the bearer token, shown only in the first response; a replayed request "
                    "cannot show it again because only its hash is stored")


class UserListItem(BaseModel):
    user_id: UUID
    name: str
    role: str
    agency_id: UUID | None
    active: bool
    registered_on: date


class UserList(BaseModel):
    position: int = Field(description="the log position this list reflects")
    items: list[UserListItem]
