"""What the routes need, bundled: built once by `hotline serve` (or a test) and handed to
`create_app`. Nothing here is global; every route reaches it through the app's state.

    services = Services.build(runtime=runtime, engine=engine, centre=centre,
                              catalogue=catalogue, settings=settings)
    app = create_app(services, settings)

`Services.build` registers the screen-pop tracker as a listener on the runtime, so call
it before the runtime takes calls. It also makes the shared live picture (`live`, one
build per change for every reader), the callers' histories for screen pops and the feed
of work-order changes that department sockets follow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.api.feeds import OrderFeed
from hotline.api.presence import SeatPresenceSource
from hotline.api.screenpop import CallerHistories, ScreenPops
from hotline.api.security import LoginThrottle, MemorySessions, Passwords, SessionStore, Tokens
from hotline.api.settings import ApiSettings
from hotline.api.views import LiveViews
from hotline.config.loader import Centre
from hotline.runtime.centre_runtime import CentreRuntime
from hotline.workorders.catalogue import Catalogue
from hotline.workorders.working_time import WorkCalendar


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    runtime: CentreRuntime  # post events, read views, subscribe to facts
    engine: AsyncEngine  # the store
    centre: Centre  # the loaded configuration (modes, agents, seats, time zone)
    catalogue: Catalogue  # work-order categories, departments, deadlines
    calendar: WorkCalendar  # working days for work-order deadlines
    clock: Callable[[], float]  # epoch seconds (the runtime's clock)
    passwords: Passwords
    tokens: Tokens
    throttle: LoginThrottle
    screen_pops: ScreenPops
    live: LiveViews  # the live centre, built once per change, for routes and sockets
    histories: CallerHistories  # callers' past calls and orders, for screen pops
    order_feed: OrderFeed  # work-order changes, for department sockets
    presence: SeatPresenceSource | None = None  # softphone registration; None without AMI

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.centre.config.centre.timezone)

    @classmethod
    def build(
        cls,
        *,
        runtime: CentreRuntime,
        engine: AsyncEngine,
        centre: Centre,
        catalogue: Catalogue,
        settings: ApiSettings,
        sessions: SessionStore | None = None,
        clock: Callable[[], float] | None = None,
        presence: SeatPresenceSource | None = None,
    ) -> Services:
        """Services on `runtime` and `engine`; time from the runtime's clock by default.

        `clock` is for sessions and throttling (wall time even when the runtime runs on
        a virtual clock would be wrong for nothing here, so the runtime's clock serves).
        """
        now = clock or runtime.clock.now
        pops = ScreenPops()
        runtime.listen(pops.feed)
        # At most one wallboard tick old, at most half a tick behind the facts; the
        # wallboards' push (every few hundred ms while the centre is busy) refreshes it
        # for every HTTP reader in between.
        period = settings.wallboard_period_s
        live = LiveViews(runtime, presence, max_age_s=period, min_gap_s=period / 2)
        return cls(
            runtime=runtime,
            engine=engine,
            centre=centre,
            catalogue=catalogue,
            calendar=catalogue.work_calendar(centre.config),
            clock=now,
            passwords=Passwords(settings.argon2_time_cost, settings.argon2_memory_kib),
            tokens=Tokens(sessions or MemorySessions(), now, settings.token_ttl_s),
            throttle=LoginThrottle(now, settings.login_max_failures, settings.login_window_s),
            screen_pops=pops,
            live=live,
            histories=CallerHistories(engine),
            order_feed=OrderFeed(),
            presence=presence,
        )
