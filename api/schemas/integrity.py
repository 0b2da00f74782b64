"""Requests and answers of the integrity routes. Hashes are standard base64."""

from __future__ import annotations

import base64
from datetime import date

from pydantic import BaseModel, Field

from api.schemas.common import ActorOut
from domain.checkpoint import Cosignature, RecordedCheckpoint, Witness


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class CheckpointIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="why a checkpoint now")


class WitnessIn(BaseModel):
    vkey: str = Field(min_length=1, max_length=500,
                      description="your cosignature/v1 verifier key (name+hex8+base64)")


class CosignatureIn(BaseModel):
    signature: str = Field(min_length=1, max_length=500,
                           description="the cosignature/v1 signature line: '— name base64'")


class CosignatureOut(BaseModel):
    witness: str
    size: int
    signature: str
    timestamp: int

    @classmethod
    def of(cls, c: Cosignature) -> CosignatureOut:
        return cls(witness=c.witness, size=c.size, signature=c.signature, timestamp=c.timestamp)


class CheckpointOut(BaseModel):
    origin: str
    size: int
    root_hash: str
    reason: str
    requested_by: ActorOut
    occurred_on: date
    note: str = Field(description="the signed note, with every cosignature of this size")
    cosignatures: list[CosignatureOut]
    cosigned_by: list[str] = Field(description="the witnesses who cosigned this checkpoint")

    @classmethod
    def of(cls, origin: str, cp: RecordedCheckpoint, cosignatures: list[Cosignature]
           ) -> CheckpointOut:
        return cls(origin=origin, size=cp.size, root_hash=cp.root_hash, reason=cp.reason,
                   requested_by=ActorOut.of(cp.actor), occurred_on=cp.occurred_on,
                   note=cp.note + "".join(c.signature + "\n" for c in cosignatures),
                   cosignatures=[CosignatureOut.of(c) for c in cosignatures],
                   cosigned_by=[c.witness for c in cosignatures])


class CheckpointList(BaseModel):
    origin: str
    checkpoints: list[CheckpointOut]


class WitnessOut(BaseModel):
    name: str
    vkey: str
    registered_by: str

    @classmethod
    def of(cls, w: Witness) -> WitnessOut:
        return cls(name=w.name, vkey=w.vkey, registered_by=w.owner)


class EarlierKeyOut(BaseModel):
    origin: str
    vkey: str
    key_fingerprint: str


class PublicKeyOut(BaseModel):
    origin: str
    vkey: str = Field(description="C2SP signed-note verifier key of the log")
    key_fingerprint: str
    append_only_guard: bool = Field(description="PostgreSQL trigger refusing UPDATE/DELETE")
    earlier_keys: list[EarlierKeyOut] = Field(
        default_factory=list, description="the log's keys before each rotation, oldest first "
        "(their checkpoints still verify with them; keep the copies you were given)")


class InclusionOut(BaseModel):
    position: int
    leaf_index: int
    tree_size: int
    leaf_hash: str
    inclusion_path: list[str] = Field(description="RFC 9162 inclusion path, leaf to root")
    root_hash: str


class ConsistencyOut(BaseModel):
    first: int
    second: int
    consistency_path: list[str] = Field(description="RFC 9162 consistency path")
    first_root: str
    second_root: str


class RecordEventProof(BaseModel):
    version: int
    position: int
    proof: InclusionOut | None = Field(description="null: not yet covered by a checkpoint")


class RecordProofs(BaseModel):
    record_id: str
    checkpoint_size: int
    checkpoint_note: str = Field(description="the latest checkpoint, with its cosignatures")
    events: list[RecordEventProof]
