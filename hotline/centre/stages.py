"""A call's stages and the triggers that move it between them: one table.

h11's `_state.py` shape: `TRANSITIONS` holds every legal (stage, trigger) pair and
`next_stage` is the only lookup. The centre kernel applies a move in one place
(`CentreKernel._move`), which also emits `CallStageChanged`; an illegal move raises
`KernelError` before anything changes.

What happens *inside* a stage belongs to the part that owns it: the flow engine's phases
inside `IVR`, the ACD's entry states inside `WAITING` / `RINGING` / `TALKING`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from hotline.vocabulary.errors import KernelError
from hotline.vocabulary.states import CallStage


class StageTrigger(StrEnum):
    ENQUEUED = "enqueued"  # the flow (or an agent's transfer) handed the caller to a queue
    RUNG = "rung"  # the ACD rings a seat for the call
    RING_LOST = "ring-lost"  # nobody answered; back to its place in the queue
    ANSWERED = "answered"  # an agent answered: bridged
    TALK_ENDED = "talk-ended"
    LEFT_TO_MESSAGE = "left-to-message"  # out of the queue (or a full callback) to record
    LEFT_TO_CALLBACK = "left-to-callback"  # a callback request took the call's place
    MESSAGE_STORED = "message-stored"
    TRANSFER_SENT = "transfer-sent"  # the flow sent the call out of the centre
    HANDED_ON = "handed-on"  # the agent transferred the citizen inside the centre
    TRANSFER_FAILED = "transfer-failed"  # back into the flow
    IVR_FINISHED = "ivr-finished"  # the flow said goodbye, or booked a callback
    HUNG_UP = "hung-up"  # the citizen hung up
    REFUSED = "refused"  # the queue would not take the call


S, T = CallStage, StageTrigger
TRANSITIONS: Mapping[tuple[CallStage, StageTrigger], CallStage] = {
    (S.IVR, T.ENQUEUED): S.WAITING,
    (S.IVR, T.TRANSFER_SENT): S.TRANSFERRING,
    (S.IVR, T.IVR_FINISHED): S.ENDED,
    (S.IVR, T.HUNG_UP): S.ENDED,
    (S.IVR, T.REFUSED): S.ENDED,
    (S.IVR, T.LEFT_TO_MESSAGE): S.RECORDING,  # a callback asked for when none can be promised
    (S.WAITING, T.RUNG): S.RINGING,
    (S.WAITING, T.LEFT_TO_MESSAGE): S.RECORDING,
    (S.WAITING, T.LEFT_TO_CALLBACK): S.ENDED,
    (S.WAITING, T.HUNG_UP): S.ENDED,
    (S.RINGING, T.RING_LOST): S.WAITING,
    (S.RINGING, T.ANSWERED): S.TALKING,
    (S.RINGING, T.HUNG_UP): S.ENDED,
    (S.RINGING, T.LEFT_TO_MESSAGE): S.RECORDING,  # max wait reached as the ring failed
    (S.RINGING, T.LEFT_TO_CALLBACK): S.ENDED,
    (S.TALKING, T.TALK_ENDED): S.ENDED,
    (S.TALKING, T.HUNG_UP): S.ENDED,
    # An agent's transfer passes through TRANSFERRING within its one step: the citizen
    # waits in a queue again, or rings the named agent.
    (S.TALKING, T.HANDED_ON): S.TRANSFERRING,
    (S.TRANSFERRING, T.ENQUEUED): S.WAITING,
    (S.TRANSFERRING, T.RUNG): S.RINGING,
    (S.RECORDING, T.MESSAGE_STORED): S.ENDED,
    (S.RECORDING, T.HUNG_UP): S.ENDED,
    (S.TRANSFERRING, T.TRANSFER_FAILED): S.IVR,
    (S.TRANSFERRING, T.HUNG_UP): S.ENDED,
}
del S, T


def next_stage(stage: CallStage, trigger: StageTrigger) -> CallStage:
    """The stage `trigger` moves a call in `stage` to; `KernelError` if it may not."""
    try:
        return TRANSITIONS[(stage, trigger)]
    except KeyError:
        raise KernelError(f"a call {stage.value} cannot be {trigger.value}") from None
