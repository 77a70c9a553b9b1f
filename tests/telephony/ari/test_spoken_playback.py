"""Prompts with filled-in numbers are spoken at run time on the ARI path: the driver asks
its spoken-prompt port for each prompt's sound on the call's lane, and a prompt with
nothing to play ends its playback at once (never a caller left waiting on silence)."""

from __future__ import annotations

from collections.abc import Iterable

from hotline.telephony.ari import AriClient
from hotline.telephony.ari.fake_asterisk import FakeAsterisk
from hotline.vocabulary.commands import Prompt
from hotline.vocabulary.states import CallStage
from tests.telephony.ari.test_driver import start_harness, stop_harness


class ScriptedSpoken:
    """Names a sound after the prompt and its text; says nothing for `silent` ids."""

    def __init__(self, silent: Iterable[str] = ()) -> None:
        self.silent = set(silent)
        self.asked: list[Prompt] = []

    async def sounds(self, prompts: Iterable[Prompt]) -> list[str]:
        out = []
        for prompt in prompts:
            self.asked.append(prompt)
            if prompt.id not in self.silent:
                out.append(f"hotline/tts/{prompt.language}/{prompt.id}-{len(prompt.text)}")
        return out


def played(fake: FakeAsterisk, channel: str) -> list[list[str]]:
    return [r[2]["media"].split(",") for r in fake.requests
            if r[0] == "POST" and r[1] == f"/ari/channels/{channel}/play"]


async def test_queue_announcements_play_the_spoken_numbers(
    fake: FakeAsterisk, client: AriClient,
) -> None:
    spoken = ScriptedSpoken()
    h = await start_harness(fake, client, spoken=spoken)
    try:
        cid = h.fake.caller_enters("13900000001", args=("12345",))
        await h.until(lambda: bool(played(fake, cid)), "greeting")
        # A catalogue prompt names its own pre-rendered audio: it is played as it is.
        assert not any(m.startswith("sound:hotline/tts/") for m in played(fake, cid)[0])
        h.fake.press(cid, "0")
        await h.until(lambda: h.stage(cid) is CallStage.WAITING, "waiting")
        before = len(played(fake, cid))
        h.advance(31)  # the general queue's first announcement comes after 30 s
        await h.until(lambda: len(played(fake, cid)) > before, "the announcement")
        position = next(p for p in spoken.asked if p.id == "queue.position")
        assert "1" in position.text  # first in line: the number is in the spoken text
        media = played(fake, cid)[-1]
        assert f"sound:hotline/tts/zh/queue.position-{len(position.text)}" in media
        # Fact 7: music again after the announcement ends.
        moh = len(h.requests("POST", f"/channels/{cid}/moh"))
        await h.until(lambda: len(h.requests("POST", f"/channels/{cid}/moh")) > moh, "music")
    finally:
        await stop_harness(h)


async def test_an_announcement_with_nothing_to_play_goes_back_to_music(
    fake: FakeAsterisk, client: AriClient,
) -> None:
    """No sound for any of the announcement's prompts: nothing is sent to Asterisk and
    the caller's music is started again at once (fact 7), never silence."""
    spoken = ScriptedSpoken(silent={"queue.position", "queue.expected_wait",
                                    "queue.wait_unknown", "queue.callback_offer"})
    h = await start_harness(fake, client, spoken=spoken)
    try:
        cid = h.fake.caller_enters("13900000001", args=("12345",))
        await h.until(lambda: bool(played(fake, cid)), "greeting")
        h.fake.press(cid, "0")
        await h.until(lambda: h.stage(cid) is CallStage.WAITING, "waiting")
        await h.until(lambda: bool(h.requests("POST", f"/channels/{cid}/moh")), "music")
        plays, moh = len(played(fake, cid)), len(h.requests("POST", f"/channels/{cid}/moh"))
        h.advance(31)
        await h.until(lambda: any(p.id == "queue.position" for p in spoken.asked),
                      "the announcement")
        await h.until(lambda: len(h.requests("POST", f"/channels/{cid}/moh")) > moh,
                      "music again")
        assert len(played(fake, cid)) == plays
        assert h.stage(cid) is CallStage.WAITING
        assert h.runtime.counters.rejected == {} and h.driver.stats.rest_errors == 0
    finally:
        await stop_harness(h)
