"""The sans-I/O codec with recorded shapes inline (runs without ../shared)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.telephony.ami.codec import (
    Action,
    AmiDecoder,
    Banner,
    Event,
    Response,
    Role,
    encode_action,
    encode_headers,
)
from hotline.telephony.ami.errors import AmiProtocolError, UnsafeActionError

# Bytes as Asterisk 20.20.1 sent them (traces/ami/pjsip-status-raw.log, queue-raw.log).
LOGIN_OK = (
    b"Asterisk Call Manager/9.0.0\r\n"
    b"Response: Success\r\nActionID: login-1\r\nMessage: Authentication accepted\r\n\r\n"
    b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 11\r\nLastReload: 11\r\n"
    b"Status: Fully Booted\r\n\r\n"
)
NO_CONTACTS = b"Response: Error\r\nActionID: contacts-1\r\nMessage: No Contacts found\n\r\n\r\n"
ENDPOINT_LIST = (
    b"Response: Success\r\nActionID: eps-1\r\nEventList: start\r\n"
    b"Message: A listing of Endpoints follows, presented as EndpointList events\r\n\r\n"
    b"Event: EndpointList\r\nActionID: eps-1\r\nObjectType: endpoint\r\nObjectName: pjagent\r\n"
    b"Transport: transport-udp\r\nAor: pjagent\r\nAuths: \r\nOutboundAuths: \r\n"
    b"Contacts: pjagent/sip:pjagent@127.0.0.1:5072,\r\nDeviceState: Not in use\r\n"
    b"ActiveChannels: 0\r\n\r\n"
    b"Event: EndpointListComplete\r\nActionID: eps-1\r\nEventList: Complete\r\nListItems: 1\r\n\r\n"
)
# queue-raw.log: one response written in three pieces, and a list end split off its blank.
PIECES = [
    b"Response: Success\r\n",
    b"ActionID: ping-1\r\n",
    b"Ping: Pong\r\nTimestamp: 1795635948.873168\r\n\r\n",
    b"Event: QueueSummaryComplete\r\nActionID: qsum-1\r\nEventList: Complete\r\nListItems: 1\r\n",
    b"\r\n",
]
CHINESE = (
    "Event: NewCallerid\r\nChannel: PJSIP/8001-00000001\r\nCallerIDName: 李四\r\n\r\n".encode()
)
STREAM = LOGIN_OK + ENDPOINT_LIST + NO_CONTACTS + b"".join(PIECES) + CHINESE


def decode_all(chunks: list[bytes], role: Role = Role.CLIENT) -> list[object]:
    decoder = AmiDecoder(role)
    out: list[object] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    return out


def test_banner_response_and_event() -> None:
    banner, response, event = decode_all([LOGIN_OK])
    assert banner == Banner("Asterisk Call Manager/9.0.0")
    assert isinstance(banner, Banner) and banner.version == "9.0.0"
    assert isinstance(response, Response)
    assert response.status == "Success" and response.action_id == "login-1"
    assert response.message == "Authentication accepted" and not response.is_error
    assert isinstance(event, Event) and event.name == "FullyBooted"
    assert event["status"] == "Fully Booted"  # keys compare case-insensitively
    assert "Uptime" in event and "Nope" not in event


def test_values_keep_colons_and_empty_values() -> None:
    _, _, endpoint, complete = decode_all([b"Asterisk Call Manager/9.0.0\r\n", ENDPOINT_LIST])
    assert isinstance(endpoint, Event)
    assert endpoint["Contacts"] == "pjagent/sip:pjagent@127.0.0.1:5072,"
    assert endpoint["Auths"] == ""
    assert isinstance(complete, Event) and complete.completes_list


def test_bare_lf_inside_recorded_error_response() -> None:
    messages = decode_all([b"Asterisk Call Manager/9.0.0\r\n", NO_CONTACTS, LOGIN_OK[29:]])
    error = messages[1]
    assert isinstance(error, Response) and error.is_error
    assert error.message == "No Contacts found"
    # The stray blank line does not create or swallow a message.
    assert [type(m) for m in messages] == [Banner, Response, Response, Event]


def test_repeated_keys_keep_wire_order() -> None:
    [_, event] = decode_all(
        [b"Asterisk Call Manager/9.0.0\r\nEvent: X\r\nVariable: a=1\r\nVariable: b=2\r\n\r\n"]
    )
    assert isinstance(event, Event) and event.get_all("variable") == ("a=1", "b=2")


def test_chinese_name_split_inside_a_character() -> None:
    data = b"Asterisk Call Manager/9.0.0\r\n" + CHINESE
    cut = data.index("李".encode()) + 1  # in the middle of the 3-byte character
    [_, event] = decode_all([data[:cut], data[cut:]])
    assert isinstance(event, Event) and event["CallerIDName"] == "李四"


def test_every_split_point_gives_the_same_messages() -> None:
    expected = decode_all([STREAM])
    assert len(expected) == 10
    for cut in range(len(STREAM) + 1):
        assert decode_all([STREAM[:cut], STREAM[cut:]]) == expected
    assert decode_all([STREAM[i : i + 1] for i in range(len(STREAM))]) == expected


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    [_, event] = decode_all([b"Asterisk Call Manager/9.0.0\r\nEvent: X\r\nName: \xc0\xfe\r\n\r\n"])
    assert isinstance(event, Event) and "\ufffd" in event["Name"]


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 400 Bad Request\r\n",  # not an Asterisk
        b"Asterisk Call Manager/9.0.0\r\nno colon here\r\n\r\n",
        b"Asterisk Call Manager/9.0.0\r\n: value without key\r\n\r\n",
        b"Asterisk Call Manager/9.0.0\r\nMessage: neither response nor event\r\n\r\n",
    ],
)
def test_garbage_raises_protocol_error_and_stays_failed(data: bytes) -> None:
    decoder = AmiDecoder()
    with pytest.raises(AmiProtocolError):
        decoder.feed(data)
    with pytest.raises(AmiProtocolError):
        decoder.feed(b"Response: Success\r\n\r\n")


def test_oversize_message_is_refused_even_without_line_end() -> None:
    decoder = AmiDecoder(max_message_bytes=1024)
    decoder.feed(b"Asterisk Call Manager/9.0.0\r\n")
    decoder.feed(b"Event: Big\r\n" + b"K: v\r\n" * 100)
    with pytest.raises(AmiProtocolError, match="exceeds"):
        decoder.feed(b"K: v\r\n" * 100)
    endless = AmiDecoder(max_message_bytes=1024)
    with pytest.raises(AmiProtocolError):
        endless.feed(b"x" * 2000)


def test_messages_before_an_error_are_delivered() -> None:
    decoder = AmiDecoder()
    decoder.receive_data(LOGIN_OK + b"garbage line\r\n\r\n")
    assert isinstance(decoder.next_message(), Banner)
    assert isinstance(decoder.next_message(), Response)
    assert isinstance(decoder.next_message(), Event)
    with pytest.raises(AmiProtocolError):
        decoder.next_message()


def test_mid_message_flag() -> None:
    decoder = AmiDecoder()
    decoder.feed(b"Asterisk Call Manager/9.0.0\r\nResponse: Succ")
    assert decoder.mid_message
    decoder.feed(b"ess\r\n\r\n")
    assert not decoder.mid_message


def test_server_role_reads_actions_with_bare_lf() -> None:
    # queue-raw.log: Asterisk accepted "Action: Ping\r\nActionID: lf-only\n\n\r\n".
    [action] = decode_all([b"Action: Ping\r\nActionID: lf-only\n\n\r\n"], Role.SERVER)
    assert action == Action((("Action", "Ping"), ("ActionID", "lf-only")), "Ping")
    with pytest.raises(AmiProtocolError):
        decode_all([b"Response: Success\r\n\r\n"], Role.SERVER)


# -- encoding -----------------------------------------------------------------------------


def test_encode_action_matches_recorded_bytes() -> None:
    data = encode_action("Login", "login-1", {"Username": "hotline", "Secret": "hotline-ami-test"})
    assert data == (
        b"Action: Login\r\nUsername: hotline\r\nSecret: hotline-ami-test\r\n"
        b"ActionID: login-1\r\n\r\n"
    )
    assert (
        encode_action("Originate", "o-1", [("Variable", "a=1"), ("Variable", "b=2")]).count(
            b"Variable:"
        )
        == 2
    )


def test_encode_round_trips_utf8() -> None:
    data = encode_action("Setvar", "s-1", {"Value": "李四: 市民"})
    [action] = decode_all([data], Role.SERVER)
    assert isinstance(action, Action) and action["Value"] == "李四: 市民"


@pytest.mark.parametrize("bad", ["x\r\nAction: Hangup", "x\nEvil: 1", "x\rEvil: 1", "x\0"])
def test_injection_in_values_is_refused(bad: str) -> None:
    with pytest.raises(UnsafeActionError) as caught:
        encode_action("Originate", "o-1", {"CallerID": bad})
    assert bad not in str(caught.value)  # a refused value may be a secret: never echoed
    with pytest.raises(UnsafeActionError):
        encode_action(bad, "o-1")
    with pytest.raises(UnsafeActionError):
        encode_action("Ping", bad)


@pytest.mark.parametrize("key", ["", " Lead", "Has:Colon", "A\r\nB", "Nul\0", "Action", "actionid"])
def test_bad_keys_are_refused(key: str) -> None:
    with pytest.raises(UnsafeActionError):
        encode_action("Ping", "p-1", {key: "v"})


def test_action_id_is_mandatory() -> None:
    with pytest.raises(UnsafeActionError):
        encode_action("Ping", "")
    with pytest.raises(UnsafeActionError):
        encode_headers([])


# -- fuzzing ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=6))
def test_random_bytes_only_raise_protocol_error(data: bytes, cuts: list[int]) -> None:
    for role in Role:
        decoder = AmiDecoder(role, max_message_bytes=256)
        points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
        try:
            for a, b in itertools.pairwise(points):
                decoder.feed(data[a:b])
        except AmiProtocolError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, len(STREAM)), max_size=12), st.integers(0, len(STREAM)))
def test_random_splits_and_truncations(cuts: list[int], end: int) -> None:
    points = sorted({*cuts, 0, len(STREAM)})
    chunks = [STREAM[a:b] for a, b in itertools.pairwise(points)]
    assert decode_all(chunks) == decode_all([STREAM])
    truncated = decode_all([STREAM[:end]])
    assert truncated == decode_all([STREAM])[: len(truncated)]


keys = st.text(st.characters(blacklist_characters="\r\n\0:"), min_size=1, max_size=8).filter(
    lambda k: k == k.strip() and k.lower() not in ("action", "actionid")
)
values = st.text(max_size=20)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(keys, values), max_size=5))
def test_encoder_never_lets_a_value_make_a_second_header(fields: list[tuple[str, str]]) -> None:
    try:
        data = encode_action("Ping", "p-1", fields)
    except UnsafeActionError:
        text = "".join(k + v for k, v in fields)
        assert any(c in v for _, v in fields for c in "\r\n\0") or any(
            "\ud800" <= c <= "\udfff" for c in text
        )
        return
    [action] = decode_all([data], Role.SERVER)
    assert isinstance(action, Action)
    decoded = action.headers[1:-1]
    # Exactly the headers we asked for, values unchanged.
    assert list(decoded) == fields
