"""Auditors (role ``auditor``): read-only, every read audited. A draw's whole frame with each
entity's π, opening and nonce, and its full re-run, which the public cannot do: the public frame
seals π (``credit_engine.sampling.blinding``), since π is the class (RULES.md §1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status

from api.deps import AuditorDep, ConnDep, client_address, write_transaction
from api.inspection_schemas import AuditFrameRow, VerificationOut
from credit_engine.keys import Principal
from credit_engine.sampling import draw, ledger
from credit_engine.store.repository import Store, now_utc

router = APIRouter(prefix="/v1/audit", tags=["auditors"])
DrawId = Annotated[int, Path(ge=1, le=2**53, description="a draw's number")]
FRAME_COLUMNS = ["uscc", "token", "opening", "nonce", "pi_units", "grade", "sampled_as", "reason"]


def _sealed_draw(conn: ConnDep, draw_id: int) -> dict:
    try:
        row = ledger.get_draw(conn, draw_id)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    if row["algorithm"] == draw.ALGORITHM_V1:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"draw {draw_id} is of the v1 design: verify it with POST /v1/inspections/draws/{{id}}/verify",
        )
    return row


def _audit(conn: ConnDep, request: Request, principal: Principal, action: str, target: str, **detail: object) -> None:
    """Before the data leaves: the row is written even if the answer is then lost."""
    with write_transaction(conn):
        Store(conn).audit(
            now_utc(),
            principal.actor,
            action,
            target,
            {"path": request.url.path, "role": str(principal.role), **detail},
            client=client_address(request),
        )


@router.get(
    "/draws/{draw_id}/frame",
    response_model=list[AuditFrameRow],
    summary="A draw's frame with every π, opening and nonce (in the order the draw runs over it)",
)
def get_audit_frame(draw_id: DrawId, principal: AuditorDep, conn: ConnDep, request: Request) -> list[dict]:
    """Rebuild the public frame from it (token, SHA-256('nonce:π units')[:32]) and re-run the draw
    over the rows in this order (``credit_engine.sampling.draw.verify_full``)."""
    _sealed_draw(conn, draw_id)
    frame = ledger.audit_frame(conn, draw_id)
    _audit(conn, request, principal, "audit_read_frame", f"draw:{draw_id}", rows=len(frame))
    rows = frame[FRAME_COLUMNS].astype(object)
    return rows.where(rows.notna(), None).to_dict("records")


@router.get("/draws/{draw_id}/verification", response_model=VerificationOut, summary="Re-run a drawn draw in full")
def get_audit_verification(draw_id: DrawId, principal: AuditorDep, conn: ConnDep, request: Request) -> VerificationOut:
    """Commitment, frame (rebuilt from every opening, nonce and π) and sample (re-drawn)."""
    _sealed_draw(conn, draw_id)
    try:
        result = ledger.verify_stored(conn, draw_id)
    except ledger.DrawStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    _audit(conn, request, principal, "audit_verify_draw", f"draw:{draw_id}", ok=result.ok)
    return VerificationOut(
        ok=result.ok,
        commitment_matches=result.commitment_matches,
        frame_hash_matches=result.frame_hash_matches,
        sample_matches=result.sample_matches,
        problems=list(result.problems),
    )
