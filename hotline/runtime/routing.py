"""Which driver executes a command: the one that owns the call, the seat or the dial.

Rules, in order:

* `RingSeat`, `StopRinging`, `Bridge`: the driver that claimed the seat's endpoint (a
  centre may have several Asterisk servers, each with its own softphones), else the
  call's owner.
* `DialCitizen` and every command for a callback request (``<call>.cb``): the configured
  dialling driver, else the owner of the call the request came from.
* `NotifyReserve`: every registered notifier (centre-wide, no call).
* Anything else: the driver that brought the call in (it posted `CallArrived`).

A command nobody owns is counted and logged by the runtime, never raised: the call's
driver may be gone (a restart), and the kernel must not stop for it.
"""

from __future__ import annotations

from typing import Protocol

from hotline.vocabulary.commands import (
    Bridge,
    Command,
    DialCitizen,
    NotifyReserve,
    RingSeat,
    StopRinging,
)

CALLBACK_SUFFIX = ".cb"  # the ACD names a callback request "<call id>.cb"


class Driver(Protocol):
    """A PBX (or simulator) adapter. `execute` must not block: queue your own I/O."""

    def execute(self, command: Command) -> None: ...

    def flush(self) -> None:
        """All commands of one event were delivered (a point to send batched I/O)."""
        ...


class Notifier(Protocol):
    """Calls in reserve staff (SMS, app push, phone tree)."""

    def notify(self, command: NotifyReserve) -> None: ...


class UnknownDriver(KeyError):
    """A driver name that was never registered."""


class Router:
    """Ownership of calls and endpoints, and the lookup of a command's driver."""

    __slots__ = ("_dialler", "_endpoints", "_owners", "drivers", "notifiers")

    def __init__(self) -> None:
        self.drivers: dict[str, Driver] = {}
        self.notifiers: list[Notifier] = []
        self._owners: dict[str, Driver] = {}
        self._endpoints: dict[str, Driver] = {}
        self._dialler: Driver | None = None

    # --- registration -----------------------------------------------------------------

    def register(self, name: str, driver: Driver, *, dialler: bool = False) -> None:
        if name in self.drivers:
            raise ValueError(f"a driver named {name!r} is already registered")
        self.drivers[name] = driver
        if dialler:
            self._dialler = driver

    def unregister(self, name: str) -> None:
        """Forget a driver and everything it claimed (its calls become unowned)."""
        driver = self.drivers.pop(name, None)
        if driver is None:
            raise UnknownDriver(name)
        self._owners = {k: d for k, d in self._owners.items() if d is not driver}
        self._endpoints = {k: d for k, d in self._endpoints.items() if d is not driver}
        if self._dialler is driver:
            self._dialler = None

    def _driver(self, name: str) -> Driver:
        try:
            return self.drivers[name]
        except KeyError:
            raise UnknownDriver(name) from None

    def claim_call(self, name: str, call_id: str) -> None:
        self._owners[call_id] = self._driver(name)

    def claim_call_by(self, driver: Driver, call_id: str) -> None:
        """`driver` brought the call in (it posted `CallArrived`)."""
        self._owners[call_id] = driver

    def claim_endpoint(self, name: str, endpoint: str) -> None:
        self._endpoints[endpoint] = self._driver(name)

    def release_call(self, call_id: str) -> None:
        """The call's channel is gone for good; its id is forgotten."""
        self._owners.pop(call_id, None)

    def owner(self, call_id: str) -> Driver | None:
        return self._owners.get(call_id)

    @property
    def owned_calls(self) -> int:
        return len(self._owners)

    # --- lookup ------------------------------------------------------------------------

    def driver_for(self, command: Command) -> Driver | None:
        """The driver that executes `command` (None: nobody owns it)."""
        kind = type(command)
        if kind is RingSeat or kind is StopRinging or kind is Bridge:
            assert isinstance(command, RingSeat | StopRinging | Bridge)
            by_endpoint = self._endpoints.get(command.endpoint)
            if by_endpoint is not None:
                return by_endpoint
            return self._for_call(command.call_id)
        if kind is DialCitizen:
            assert isinstance(command, DialCitizen)
            return self._for_request(command.request_id)
        call_id: str | None = getattr(command, "call_id", None)
        return None if call_id is None else self._for_call(call_id)

    def _for_call(self, call_id: str) -> Driver | None:
        owner = self._owners.get(call_id)
        if owner is None and call_id.endswith(CALLBACK_SUFFIX):
            return self._for_request(call_id)
        return owner

    def _for_request(self, request_id: str) -> Driver | None:
        if self._dialler is not None:
            return self._dialler
        origin = request_id.removesuffix(CALLBACK_SUFFIX)
        return self._owners.get(origin)
