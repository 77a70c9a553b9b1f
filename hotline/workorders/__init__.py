"""Work orders (工单): the closed loop of a 12345 centre, as pure domain logic.

- `catalogue`: category code tree, departments, deadline policy; `load_catalogue` reads
  `config/workorders.yaml` with located problems.
- `working_time`: working days and hours on the centre's holiday calendar (调休 included).
- `model` + `lifecycle`: the order, its actions and the one transition table; `apply` is
  the only way an order changes; `due_actions` tells a scheduler what to chase/escalate.
- `deadlines`: dispatch/insist/reopen actions with deadlines per category and mode.
- `intake`: order numbers and orders from calls, messages and missed calls.
- `duplicates`: 并单 candidates.
- `webhook`: signed, idempotent, retried events for an external work-order system.
"""

from hotline.workorders.catalogue import Catalogue, Category, Department, load_catalogue
from hotline.workorders.lifecycle import Applied, apply, due_actions, merge, replay
from hotline.workorders.model import Action, Actor, Role, Status, WorkOrder, WorkOrderError

__all__ = [
    "Action",
    "Actor",
    "Applied",
    "Catalogue",
    "Category",
    "Department",
    "Role",
    "Status",
    "WorkOrder",
    "WorkOrderError",
    "apply",
    "due_actions",
    "load_catalogue",
    "merge",
    "replay",
]
