"""The centre driven as a real PBX drives it, races included (a Hypothesis machine).

After every step: no seat holds two calls, every call ends in exactly one outcome,
no caller waits while an eligible agent is ready, and an event the kernel refuses
changed nothing. At the end the live statistics equal a recount from the record, and
the record decodes to itself through the JSON codec.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.composition import build_kernel
from hotline.config.loader import Centre
from hotline.projections.stats import LiveStats
from hotline.vocabulary import codec

from .drive import T0, TZ, Drive, check_invariants, talking_calls
from .pbx import RandomPbx

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(data=st.data())
def test_the_centre_absorbs_driver_races(centre: Centre, data: st.DataObject) -> None:
    live = LiveStats(timezone=TZ)
    kernel = build_kernel(centre, observers=[live.apply])
    drive = Drive(kernel, RandomPbx(T0), tuple(centre.config.queues))
    if data.draw(st.booleans(), label="citizens talking first"):
        talking_calls(drive, 2)  # so that agents' transfers and their races come often
        check_invariants(drive)
    for _ in range(data.draw(st.integers(20, 120), label="steps")):
        drive.step(data)
        check_invariants(drive)
    # Statistics equal a recount from the record alone.
    recount = LiveStats(timezone=TZ)
    for record in drive.records:
        recount.apply(record)
    assert recount.snapshot(drive.pbx.now + 1) == live.snapshot(drive.pbx.now + 1)
    # The whole record survives its wire form.
    for record in drive.records:
        assert codec.loads(codec.dumps(record)) == record
