"""Deadlines for dispatching: per category and mode, on the centre's working time.

These build the actions that carry deadlines (`Dispatch`, `Insist`, `Reopen`), so the
transition table itself stays free of calendars.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.workorders.catalogue import Catalogue
from hotline.workorders.model import Dispatch, Insist, Reopen, WorkOrder
from hotline.workorders.working_time import (
    Colour,
    WorkCalendar,
    add_period,
    status_colour,
)


def deadline_for(
    catalogue: Catalogue, calendar: WorkCalendar, category: str | None, mode: str, start: float
) -> float:
    """When an order of `category` dispatched at `start` in centre `mode` is due."""
    return add_period(calendar, start, catalogue.deadline_period(category, mode))


def sign_by_for(catalogue: Catalogue, calendar: WorkCalendar, start: float, due: float) -> float:
    """The sign-for deadline, never later than the order's own deadline."""
    return min(add_period(calendar, start, catalogue.sign_for), due)


def dispatch_action(
    catalogue: Catalogue,
    calendar: WorkCalendar,
    order: WorkOrder,
    department: str,
    mode: str,
    at: float,
    note: str = "",
) -> Dispatch:
    due = deadline_for(catalogue, calendar, order.category, mode, at)
    return Dispatch(department, due, sign_by_for(catalogue, calendar, at, due), note)


def insist_action(
    catalogue: Catalogue, calendar: WorkCalendar, order: WorkOrder, note: str, at: float
) -> Insist:
    """Back to the same department: a fresh sign-for deadline, the original due date."""
    due = order.due if order.due is not None and order.due > at else None
    if due is None:  # the original deadline ran out while the order was away
        due = deadline_for(catalogue, calendar, order.category, order.mode, at)
        return Insist(note, sign_by_for(catalogue, calendar, at, due), due)
    return Insist(note, sign_by_for(catalogue, calendar, at, due))


def reopen_action(
    catalogue: Catalogue,
    calendar: WorkCalendar,
    order: WorkOrder,
    mode: str,
    at: float,
    department: str | None = None,
    note: str = "",
) -> Reopen:
    due = deadline_for(catalogue, calendar, order.category, mode, at)
    return Reopen(due, sign_by_for(catalogue, calendar, at, due), department, note)


@dataclass(frozen=True, slots=True)
class DepartmentView:
    """What the department's list shows for one open order."""

    number: str
    due: float
    seconds_left: float  # negative once overdue
    colour: Colour


def department_view(order: WorkOrder, at: float, amber_below: float) -> DepartmentView | None:
    """The traffic light for an order with a running deadline (None when there is none)."""
    if order.due is None or order.clock_started is None:
        return None
    return DepartmentView(
        order.number,
        order.due,
        order.due - at,
        status_colour(order.clock_started, order.due, at, amber_below),
    )
