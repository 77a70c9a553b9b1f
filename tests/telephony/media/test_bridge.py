"""The speech bridge end to end: loopback RTP / AudioSocket peers, the real Korean model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from hotline.asr.events import SpeechEvent
from hotline.asr.port import SpeechOutcome
from hotline.asr.service import SpeechService
from hotline.telephony.media.audiosocket_server import AudioSocketServer
from hotline.telephony.media.bridge import Listening, SpeechBridge
from hotline.telephony.media.router import MediaRouter
from hotline.telephony.media.rtp_endpoint import RtpEndpoint
from hotline.vocabulary.commands import Recognize
from hotline.vocabulary.events import NoInput, SpeechRecognized, SpeechStarted

from .conftest import Say, silence
from .peers import AudioSocketClient, RtpSender, eventually

MENU = ("아니요", "서울")
T0 = 1_700_000_000.0


class Clock:
    def now(self) -> float:
        return T0


@dataclass
class Kernel:
    """Stands in for `runtime.post`: records events; a barge-in stops the 'prompt'."""

    events: list[SpeechOutcome] = field(default_factory=list)
    prompt_playing: bool = True
    finals: asyncio.Event = field(default_factory=asyncio.Event)

    async def post(self, event: SpeechOutcome) -> None:
        self.events.append(event)
        if isinstance(event, SpeechStarted):
            self.prompt_playing = False
        else:
            self.finals.set()

    def of(self, call_id: str) -> list[SpeechOutcome]:
        return [e for e in self.events if e.call_id == call_id]


@dataclass
class Rig:
    service: SpeechService
    router: MediaRouter
    bridge: SpeechBridge
    kernel: Kernel
    rtp: RtpEndpoint
    sockets: AudioSocketServer
    raw: list[SpeechEvent]
    peers: list[RtpSender | AudioSocketClient] = field(default_factory=list)

    async def rtp_call(self, call_id: str) -> RtpSender:
        """Asterisk's externalMedia RTP for `call_id`, its source bound by the driver."""
        sender = await RtpSender.open(self.rtp.local_address)
        self.peers.append(sender)
        self.rtp.bind(sender.address, call_id)
        return sender

    async def audiosocket_call(self, call_id: str) -> AudioSocketClient:
        """Asterisk's externalMedia AudioSocket for `call_id` (`data` = the UUID)."""
        client = await AudioSocketClient.connect(self.sockets.local_address,
                                                 self.sockets.expect(call_id))
        self.peers.append(client)
        return client


@pytest.fixture
async def rig(service: SpeechService) -> AsyncIterator[Rig]:
    router, kernel = MediaRouter(), Kernel()
    raw: list[SpeechEvent] = []
    bridge = SpeechBridge(service, router, Clock(), kernel.post, media_gap_s=0.2,
                          on_event=raw.append)
    rtp = await RtpEndpoint.open(router)
    sockets = await AudioSocketServer.start(router)
    before = asyncio.all_tasks()
    rig = Rig(service, router, bridge, kernel, rtp, sockets, raw)
    yield rig
    for peer in rig.peers:
        if isinstance(peer, RtpSender):
            peer.close()
        else:
            await peer.close()
    await bridge.aclose()
    await sockets.aclose()
    rtp.close()
    assert service.open_streams == 0  # every recogniser went back
    leaked = asyncio.all_tasks() - before - {asyncio.current_task()}
    assert not leaked, leaked


async def test_rtp_speech_to_barge_in_then_a_result(rig: Rig, say: Say) -> None:
    sender = await rig.rtp_call("call-1")
    command = Recognize("call-1", "ko", grammar=MENU, min_confidence=0.5)
    assert rig.bridge.listen(command) is Listening.SPEECH
    assert rig.bridge.listening("call-1") is Listening.SPEECH
    await sender.send(say("아니요") + silence(1.5))
    await rig.kernel.finals.wait()
    started, recognised = rig.kernel.of("call-1")
    assert isinstance(started, SpeechStarted) and not rig.kernel.prompt_playing
    assert isinstance(recognised, SpeechRecognized)
    assert (recognised.intent, recognised.text) == ("아니요", "아니요")
    assert T0 + 0.4 <= started.at < recognised.at  # the audio's own time
    assert rig.bridge.listening("call-1") is None and not rig.router.listening("call-1")
    await rig.bridge.wait_idle()
    assert rig.service.open_streams == 0
    # Audio after the result is dropped cheaply: nobody listens.
    await sender.send(silence(0.2))
    await eventually(lambda: rig.rtp.stats.not_listening > 0)
    assert rig.kernel.of("call-1") == [started, recognised]
    assert (rig.bridge.stats.recognised, rig.bridge.stats.listens) == (1, 1)


async def test_audiosocket_free_speech_and_the_raw_events(rig: Rig, say: Say) -> None:
    client = await rig.audiosocket_call("call-2")
    assert rig.bridge.listen(Recognize("call-2", "ko")) is Listening.SPEECH
    await client.send(say("안녕하세요 감사합니다") + silence(1.5))
    await rig.kernel.finals.wait()
    started, recognised = rig.kernel.of("call-2")
    assert isinstance(started, SpeechStarted)
    assert isinstance(recognised, SpeechRecognized) and recognised.intent is None
    assert len(recognised.text.split()) >= 2
    assert any(type(e).__name__ == "PartialTranscript" for e in rig.raw)


async def test_a_hang_up_mid_utterance_concludes_with_what_was_said(
    rig: Rig, say: Say
) -> None:
    client = await rig.audiosocket_call("call-3")
    rig.bridge.listen(Recognize("call-3", "ko", grammar=MENU))
    await client.send(say("아니요", tail=0.0))
    await client.hang_up()  # AudioSocket kind 0x00: the media ends now
    await rig.kernel.finals.wait()
    assert [type(e) for e in rig.kernel.of("call-3")] == [SpeechStarted, SpeechRecognized]
    assert rig.kernel.of("call-3")[-1].intent == "아니요"  # type: ignore[union-attr]


async def test_a_hang_up_before_any_speech_gives_no_input(rig: Rig) -> None:
    client = await rig.audiosocket_call("call-4")
    rig.bridge.listen(Recognize("call-4", "ko", grammar=MENU))
    await client.send(silence(0.5))
    await client.close()  # as recorded: the channel is deleted, the stream just ends
    await rig.kernel.finals.wait()
    assert [type(e) for e in rig.kernel.of("call-4")] == [NoInput]


async def test_an_rtp_stream_that_stops_concludes_the_listen(rig: Rig, say: Say) -> None:
    sender = await rig.rtp_call("call-5")
    rig.bridge.listen(Recognize("call-5", "ko", grammar=MENU))
    await sender.send(say("아니요", tail=0.0))  # then nothing: no end marker in RTP
    await rig.kernel.finals.wait()
    assert [type(e) for e in rig.kernel.of("call-5")] == [SpeechStarted, SpeechRecognized]


async def test_stop_mid_utterance_releases_the_recogniser(rig: Rig, say: Say) -> None:
    sender = await rig.rtp_call("call-6")
    rig.bridge.listen(Recognize("call-6", "ko", grammar=MENU))
    speech = say("안녕하세요 감사합니다", tail=0.0)
    half = len(speech) // 640 * 320
    await sender.send(speech[:half])
    await eventually(lambda: bool(rig.kernel.of("call-6")))  # barge-in came
    assert rig.service.open_streams == 1
    rig.bridge.stop("call-6")  # the caller pressed a key
    await rig.bridge.wait_idle()
    assert rig.service.open_streams == 0 and not rig.router.listening("call-6")
    await sender.send(speech[half:] + silence(1.0))
    await eventually(lambda: rig.rtp.stats.not_listening > 0)
    assert [type(e) for e in rig.kernel.of("call-6")] == [SpeechStarted]
    assert rig.bridge.stats.stopped == 1
    # The slot is free again for the next caller.
    assert rig.bridge.listen(Recognize("call-7", "ko")) is Listening.SPEECH


async def test_no_audio_at_all_ends_in_no_input_after_the_timeout(rig: Rig) -> None:
    await rig.rtp_call("call-9")  # bound, but Asterisk never sends (or suppresses silence)
    rig.bridge.listen(Recognize("call-9", "ko", grammar=MENU, no_speech_timeout_s=0.4))
    await rig.kernel.finals.wait()
    assert rig.kernel.of("call-9") == [NoInput("call-9", T0 + 0.4)]  # in audio time
    assert rig.router.stats.padded_bytes > 0


async def test_no_free_recogniser_falls_back_to_keys(rig: Rig) -> None:
    assert rig.service.settings.max_streams == 1
    assert rig.bridge.listen(Recognize("busy-1", "ko", grammar=MENU)) is Listening.SPEECH
    short = Recognize("busy-2", "ko", grammar=MENU, no_speech_timeout_s=0.05)
    assert rig.bridge.listen(short) is Listening.KEYS_ONLY  # decided at once, no await
    assert rig.bridge.stats.refused == 1 and not rig.router.listening("busy-2")
    assert rig.bridge.listening("busy-2") is Listening.KEYS_ONLY
    # No key came within the command's timeout: NoInput, so the flow moves on.
    await rig.kernel.finals.wait()
    assert rig.kernel.of("busy-2") == [NoInput("busy-2", T0)]
    # A key pressed in time (the driver calls stop): nothing is posted.
    rig.kernel.finals.clear()
    assert rig.bridge.listen(Recognize("busy-3", "ko")) is Listening.KEYS_ONLY
    rig.bridge.stop("busy-3")
    await rig.bridge.wait_idle()
    assert rig.kernel.of("busy-3") == [] and rig.bridge.stats.refused == 2


async def test_an_unusable_grammar_degrades_to_keys_too(rig: Rig) -> None:
    command = Recognize("bad", "ko", grammar=("qqqxxzz",), no_speech_timeout_s=0.05)
    assert rig.bridge.listen(command) is Listening.SPEECH
    await rig.kernel.finals.wait()
    assert rig.kernel.of("bad") == [NoInput("bad", T0)]
    assert rig.bridge.stats.failed == 1 and not rig.router.listening("bad")


async def test_a_new_listen_replaces_the_previous_one(rig: Rig, say: Say) -> None:
    sender = await rig.rtp_call("call-8")
    rig.bridge.listen(Recognize("call-8", "ko"))
    rig.bridge.listen(Recognize("call-8", "ko", grammar=MENU))  # the node changed
    await sender.send(say("아니요") + silence(1.0))
    await rig.kernel.finals.wait()
    events = rig.kernel.of("call-8")
    assert [type(e) for e in events] == [SpeechStarted, SpeechRecognized]
    assert events[-1].intent == "아니요"  # type: ignore[union-attr]


async def test_stop_while_the_result_is_being_posted_cancels_the_post(rig: Rig) -> None:
    entered, delivered = asyncio.Event(), []

    async def full_inbox(event: SpeechOutcome) -> None:  # the runtime's inbox is full
        entered.set()
        await asyncio.Event().wait()
        delivered.append(event)

    bridge = SpeechBridge(rig.service, rig.router, Clock(), full_inbox)
    assert rig.bridge.listen(Recognize("holder", "ko")) is Listening.SPEECH
    await eventually(lambda: rig.service.open_streams == 1)  # the one slot is taken
    try:
        assert bridge.listen(Recognize("late", "ko", no_speech_timeout_s=0.01)) is \
            Listening.KEYS_ONLY
        await entered.wait()
        bridge.stop("late")  # a key came first: the pending NoInput must not arrive
        await bridge.wait_idle()
        assert delivered == [] and bridge.stats.no_input == 0
        assert bridge.listening("late") is None
    finally:
        await bridge.aclose()
