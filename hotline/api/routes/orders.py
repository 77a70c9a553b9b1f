"""Work orders: create from a call, list (by role), get, act; the catalogue for forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from hotline.api import orders
from hotline.api.deps import AnyUser, CentreStaff, OrderUser, ServicesDep
from hotline.api.schemas import (
    CatalogueOut,
    CategoryOut,
    DepartmentOut,
    OrderAction,
    OrderCreate,
    OrderOut,
    OrderSummary,
)
from hotline.workorders.model import Status, WorkOrderError

router = APIRouter(prefix="/workorders", tags=["work orders"])
catalogue_router = APIRouter(tags=["work orders"])

Number = Annotated[str, Path(min_length=1, max_length=40)]


def _http(exc: Exception) -> HTTPException:
    if isinstance(exc, orders.OrderNotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, orders.OrderInvalid):
        return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))


_ERRORS = (orders.OrderNotFound, orders.OrderInvalid, WorkOrderError)


@router.post("", status_code=201)
async def create(body: OrderCreate, user: CentreStaff, services: ServicesDep) -> OrderOut:
    """Register an order pre-filled from a call (an agent: from a call they answered)."""
    try:
        return await orders.create_from_call(services, user, body)
    except _ERRORS as exc:
        raise _http(exc) from None


@router.get("")
async def list_orders(
    user: OrderUser, services: ServicesDep, status_: Annotated[
        Status | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[OrderSummary]:
    """The orders this user may see, newest first."""
    try:
        return await orders.list_orders(services, user, status_, limit, offset)
    except _ERRORS as exc:
        raise _http(exc) from None


@router.get("/{number}")
async def get(number: Number, user: OrderUser, services: ServicesDep) -> OrderOut:
    try:
        return await orders.get_order(services, user, number)
    except _ERRORS as exc:
        raise _http(exc) from None


@router.post("/{number}/actions")
async def act(number: Number, body: OrderAction, user: OrderUser,
              services: ServicesDep) -> OrderOut:
    """dispatch, sign_for, start, return, insist, reply, reject_reply, request/approve/
    refuse_extension, chase, escalate, survey, reopen, close, merge, answer_directly."""
    try:
        return await orders.act(services, user, number, body)
    except _ERRORS as exc:
        raise _http(exc) from None


@catalogue_router.get("/catalogue")
async def catalogue(_user: AnyUser, services: ServicesDep) -> CatalogueOut:
    cat = services.catalogue
    return CatalogueOut(
        categories=[
            CategoryOut(code=c.code, name=c.name, parent=c.parent,
                        department=(d.code if (d := cat.department_for(c.code)) else None))
            for c in cat.categories.values()
        ],
        departments=[DepartmentOut(code=d.code, name=d.name) for d in cat.departments.values()],
    )
