"""Integrity: signed checkpoints, witnesses' cosignatures, proofs, export.

Everything a scrutineer needs to check the ledger without trusting the service: the log's
public key, its checkpoints (C2SP signed notes), RFC 9162 inclusion and consistency proofs,
self-contained C2SP tlog-proofs of single events, and the whole log as an export bundle for
`ledger verify`. Hashes are standard base64.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.responses import PlainTextResponse, StreamingResponse

from api.commands import run_command
from api.deps import ActorDep, ContextDep, IntegrityDep, LedgerDep, ReaderDep
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.integrity_service import Inclusion
from api.schemas.integrity import (
    CheckpointIn,
    CheckpointList,
    CheckpointOut,
    ConsistencyOut,
    CosignatureIn,
    CosignatureOut,
    EarlierKeyOut,
    InclusionOut,
    PublicKeyOut,
    RecordEventProof,
    RecordProofs,
    WitnessIn,
    WitnessOut,
    b64,
)
from domain.actors import Permission
from ledger_verifier.bundle import key_fingerprint
from projections.integrity import chunked, read_ahead

router = APIRouter(prefix="/integrity", tags=["integrity"])
NOTE = "text/plain; charset=utf-8"


def _wants_text(accept: str | None) -> bool:
    return bool(accept) and "text/plain" in accept and "application/json" not in accept


@router.get("/public-key", response_model=PublicKeyOut, responses=READ_ERRORS)
def public_key(integrity: IntegrityDep) -> PublicKeyOut:
    """The log's note verifier key (give it to `ledger verify --public-key`), and the keys
    it had before each rotation."""
    return PublicKeyOut(origin=integrity.origin, vkey=integrity.vkey,
                        key_fingerprint=key_fingerprint(integrity.vkey),
                        append_only_guard=integrity.guarded,
                        earlier_keys=[EarlierKeyOut(origin=log.origin, vkey=log.vkey,
                                                    key_fingerprint=key_fingerprint(log.vkey))
                                      for log in integrity.earlier_logs()])


@router.post("/checkpoints", status_code=201, response_model=CheckpointOut,
             responses=WRITE_ERRORS)
def make_checkpoint(body: CheckpointIn, integrity: IntegrityDep, ledger: LedgerDep,
                    ctx: ContextDep) -> Response:
    """Sign the log as it is now, recording who asked and why (SCB manager, Board member)."""
    origin = integrity.origin

    def render(o):
        log = ledger.get_integrity_log(origin, version=o.version)
        cp = log.checkpoints[-1]
        return CheckpointOut.of(origin, cp, log.cosignatures_of(cp.size))

    return run_command(ledger, ctx, lambda: integrity.make_checkpoint(
        ctx, reason=body.reason).outcome, render, status=201)


@router.get("/checkpoints", response_model=CheckpointList, responses=READ_ERRORS)
def list_checkpoints(integrity: IntegrityDep, _: ReaderDep) -> CheckpointList:
    log = integrity.integrity_log()
    items = [] if log is None else [CheckpointOut.of(integrity.origin, cp,
                                                     log.cosignatures_of(cp.size))
                                    for cp in log.checkpoints]
    return CheckpointList(origin=integrity.origin, checkpoints=items)


@router.get("/checkpoints/latest", response_model=CheckpointOut, responses={
    **READ_ERRORS, 200: {"content": {NOTE: {}}, "description": "JSON, or the note itself "
                                                              "with Accept: text/plain"}})
def latest_checkpoint(integrity: IntegrityDep, _: ReaderDep,
                      accept: Annotated[str | None, Header()] = None) -> Response:
    """The latest checkpoint with every cosignature (Accept: text/plain gives the note)."""
    log = integrity.require_log()
    cp = log.latest
    assert cp is not None
    out = CheckpointOut.of(integrity.origin, cp, log.cosignatures_of(cp.size))
    if _wants_text(accept):
        return PlainTextResponse(out.note, media_type=NOTE)
    return Response(out.model_dump_json(), media_type="application/json")


@router.get("/checkpoints/{size}", response_model=CheckpointOut, responses=READ_ERRORS)
def get_checkpoint(size: Annotated[int, Path(ge=0, le=2**62)], integrity: IntegrityDep, _: ReaderDep) -> CheckpointOut:
    log = integrity.require_log()
    return CheckpointOut.of(integrity.origin, log.checkpoint_at(size), log.cosignatures_of(size))


@router.post("/witnesses", status_code=201, response_model=WitnessOut, responses=WRITE_ERRORS)
def register_witness(body: WitnessIn, integrity: IntegrityDep, ledger: LedgerDep,
                     ctx: ContextDep) -> Response:
    """A scrutineer registers their own cosignature/v1 key."""
    origin = integrity.origin

    def render(o):
        log = ledger.get_integrity_log(origin, version=o.version)
        return WitnessOut.of(list(log.witnesses.values())[-1])

    return run_command(ledger, ctx, lambda: integrity.register_witness(ctx, body.vkey), render,
                       status=201)


@router.get("/witnesses", response_model=list[WitnessOut], responses=READ_ERRORS)
def list_witnesses(integrity: IntegrityDep, _: ReaderDep) -> list[WitnessOut]:
    log = integrity.integrity_log()
    return [] if log is None else [WitnessOut.of(w) for w in log.witnesses.values()]


@router.post("/checkpoints/{size}/cosignatures", status_code=201,
             response_model=CosignatureOut, responses=WRITE_ERRORS)
def add_cosignature(size: Annotated[int, Path(ge=0, le=2**62)], body: CosignatureIn, integrity: IntegrityDep,
                    ledger: LedgerDep, ctx: ContextDep) -> Response:
    """A witness's cosignature of the checkpoint of `size`: accepted only if it verifies and
    the checkpoint is consistent with the last one this witness cosigned."""
    origin = integrity.origin

    def render(o):
        return CosignatureOut.of(ledger.get_integrity_log(origin, version=o.version)
                                 .cosignatures[-1])

    return run_command(ledger, ctx, lambda: integrity.add_cosignature(ctx, size, body.signature),
                       render, status=201)


@router.get("/proofs/inclusion", response_model=InclusionOut, responses=READ_ERRORS)
def inclusion_proof(integrity: IntegrityDep, _: ReaderDep,
                    position: Annotated[int, Query(ge=1, le=2**62)],
                    size: Annotated[int | None, Query(
                        ge=1, le=2**62, description="tree size (default: latest checkpoint)"
                    )] = None) -> InclusionOut:
    """RFC 9162 inclusion proof of the event at `position` in the tree of `size` leaves."""
    return _inclusion_out(integrity.inclusion(position, size))


@router.get("/proofs/consistency", response_model=ConsistencyOut, responses=READ_ERRORS)
def consistency_proof(integrity: IntegrityDep, _: ReaderDep,
                      first: Annotated[int, Query(alias="from", ge=1, le=2**62)],
                      second: Annotated[int, Query(alias="to", ge=1, le=2**62)]
                      ) -> ConsistencyOut:
    """RFC 9162 consistency proof between tree sizes `from` and `to`."""
    path, first_root, second_root = integrity.consistency(first, second)
    return ConsistencyOut(first=first, second=second, consistency_path=[b64(h) for h in path],
                          first_root=b64(first_root), second_root=b64(second_root))


@router.get("/records/{record_id}/proofs", response_model=RecordProofs, responses=READ_ERRORS)
def record_proofs(record_id: UUID, integrity: IntegrityDep, _: ReaderDep) -> RecordProofs:
    """Each event of one record (review, action, challenge, agency...): its leaf hash and its
    inclusion proof against the latest checkpoint."""
    size, items = integrity.record_proofs(record_id)
    note = integrity.require_log().cosigned_note(size)
    return RecordProofs(record_id=str(record_id), checkpoint_size=size, checkpoint_note=note,
                        events=[RecordEventProof(version=v, position=p,
                                                 proof=_inclusion_out(i) if i else None)
                                for v, p, i in items])


def _inclusion_out(p: Inclusion) -> InclusionOut:
    return InclusionOut(position=p.position, leaf_index=p.leaf_index, tree_size=p.tree_size,
                        leaf_hash=b64(p.leaf_hash), inclusion_path=[b64(h) for h in p.path],
                        root_hash=b64(p.root))


@router.get("/events/{position}/tlog-proof", response_class=PlainTextResponse,
            responses={**READ_ERRORS, 409: WRITE_ERRORS[409]})
def tlog_proof(position: Annotated[int, Path(ge=1, le=2**62)], integrity: IntegrityDep, _: ReaderDep) -> PlainTextResponse:
    """A self-contained C2SP tlog-proof of one event (its leaf bytes, index, inclusion hashes
    and the signed, cosigned checkpoint): `ledger verify-proof FILE --public-key KEY`."""
    return PlainTextResponse(integrity.tlog_proof(position), media_type=NOTE, headers={
        "Content-Disposition": f'attachment; filename="event-{position}.tlog-proof"'})


@router.get("/export", response_class=StreamingResponse, responses={
    **READ_ERRORS, 200: {"content": {"text/plain": {}}, "description": "an sgl-bundle/v1"}})
def export(integrity: IntegrityDep, actor: ActorDep) -> StreamingResponse:
    """The whole log as an export bundle, streamed (auditors, scrutineers)."""
    actor.require(Permission.EXPORT, "export the ledger")
    # The first chunk is read before the status line is sent: a store that cannot be read
    # is a 503 problem, not a 200 with a truncated body.
    return StreamingResponse(read_ahead(chunked(integrity.export_lines())), media_type=NOTE,
                             headers={"Content-Disposition": 'attachment; filename="ledger.sglb"'})
