"""Analysts: model versions with their metrics, one version's report, promotion through the
gate (forced promotion needs a reason and is audited), reloading the champion in place."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status

from api.deps import AnalystDep, ConnDep, ServiceDep, client_address, write_transaction
from api.schemas import ModelReport, ModelVersionOut, PromoteIn, PromoteOut
from credit_engine.scoring import lifecycle, registry

router = APIRouter(prefix="/v1/models", tags=["analysts"])
Version = Annotated[str, Path(pattern=r"^\d{1,6}$", description="registered version of credit-risk", examples=["3"])]


@router.get("", response_model=list[ModelVersionOut], summary="Registered versions with aliases and metrics")
def list_versions(principal: AnalystDep, service: ServiceDep) -> list[dict]:
    return registry.versions(service.settings)


@router.get("/{version}", response_model=ModelReport, summary="One version's report and gate")
def get_version(version: Version, principal: AnalystDep, service: ServiceDep) -> dict:
    try:
        return registry.report(service.settings, version)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.post(
    "/{version}/promote",
    response_model=PromoteOut,
    summary="Make a version the champion",
    responses={409: {"description": "the gate refused; send a reason to force it"}},
)
def promote(
    version: Version,
    principal: AnalystDep,
    service: ServiceDep,
    conn: ConnDep,
    request: Request,
    body: PromoteIn | None = None,
) -> PromoteOut:
    """Through the gate; past a failed gate only with a ``reason`` (audited). No body at all is an empty one."""
    body = body or PromoteIn()
    try:
        with write_transaction(conn):
            outcome = lifecycle.promote_audited(
                conn, service.settings, version, body.reason, principal.actor, client=client_address(request)
            )
    except registry.PromotionRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, {"message": str(exc), "gate": exc.reasons}) from exc
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    serving = service.reload()
    return PromoteOut(version=version, previous=outcome["previous"], forced=outcome["forced"], serving=serving)


@router.post("/reload", response_model=PromoteOut, summary="Load the current champion without a restart")
def reload(principal: AnalystDep, service: ServiceDep) -> PromoteOut:
    previous = service.champion.version if service.champion else None
    serving = service.reload()
    if serving is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"no champion to load: {service.champion_problem}")
    return PromoteOut(version=serving, previous=previous, forced=False, serving=serving)
