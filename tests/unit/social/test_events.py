"""Meta's and X's webhook bodies, as their docs shape them, turned into events."""

from __future__ import annotations

import pytest

from channels.social import events
from channels.social.moderation import abusive_pattern, is_abusive
from channels.social.signatures import (
    meta_sign,
    meta_signature_valid,
    x_crc_response,
    x_sign,
    x_signature_valid,
)
from tests.support.fake_social import (
    APP_SECRET,
    INSTAGRAM_ID,
    PAGE_ID,
    X_ACCOUNT,
    X_SECRET,
    instagram_comment,
    messenger_dm,
    page_comment,
    x_dm,
    x_mention,
)


def test_messenger_message_is_a_dm_from_a_page_scoped_id() -> None:
    (event,) = events.meta_events(messenger_dm("Boiler broken", "m_1", psid="123"))
    assert (event.platform, event.kind, event.key, event.text) == (
        "messenger",
        "dm",
        "m_1",
        "Boiler broken",
    )
    assert event.address == "fb:123" and event.recipient_id == PAGE_ID
    assert event.at is not None and event.at.year == 2026


def test_instagram_message_and_echo_and_receipts() -> None:
    (dm,) = events.meta_events(messenger_dm("hi", "m_2", instagram=True))
    assert (dm.platform, dm.address, dm.recipient_id) == ("instagram", "ig:psid-1", INSTAGRAM_ID)
    echo = messenger_dm("our reply", "m_3")
    echo["entry"][0]["messaging"][0]["message"]["is_echo"] = True
    assert [e.kind for e in events.meta_events(echo)] == ["echo"]
    receipts = {
        "object": "page",
        "entry": [
            {
                "id": PAGE_ID,
                "messaging": [
                    {
                        "sender": {"id": "p"},
                        "recipient": {"id": PAGE_ID},
                        "timestamp": 1,
                        "delivery": {"mids": ["m_9"], "watermark": 1764496800000},
                    },
                    {
                        "sender": {"id": "p"},
                        "recipient": {"id": PAGE_ID},
                        "timestamp": 2,
                        "read": {"watermark": 1764496800000},
                    },
                ],
            }
        ],
    }
    delivery, read = events.meta_events(receipts)
    assert (delivery.kind, delivery.mids) == ("delivery", ("m_9",))
    assert (read.kind, read.watermark) == ("read", 1764496800000)


def test_page_and_instagram_comments() -> None:
    (fb,) = events.meta_events(page_comment("Still no heating", "555_1"))
    assert (fb.kind, fb.key, fb.post_id, fb.sender_name) == (
        "comment",
        "555_1",
        f"{PAGE_ID}_555",
        "Jo Bloggs",
    )
    (ig,) = events.meta_events(instagram_comment("Mould everywhere", "ig_c_1"))
    assert (ig.platform, ig.kind, ig.post_id, ig.sender_name) == (
        "instagram",
        "comment",
        "1796",
        "jo.resident",
    )


def test_the_pages_own_comments_and_other_feed_changes_are_not_events() -> None:
    ours = page_comment("Thanks, we have sent you a message", "555_2", user=PAGE_ID)
    assert events.meta_events(ours) == []
    like = page_comment("", "555_3")
    like["entry"][0]["changes"][0]["value"]["item"] = "reaction"
    assert events.meta_events(like) == []
    assert events.meta_events({"object": "user", "entry": []}) == []


def test_x_direct_messages_mentions_and_our_own_sends() -> None:
    (dm,) = events.x_events(x_dm("Leak in my flat", "dm-1"))
    assert (dm.platform, dm.kind, dm.address, dm.sender_name) == (
        "x",
        "dm",
        "x:9001",
        "Sam Resident",
    )
    (mention,) = events.x_events(x_mention("@landlord sort the lift out", "t-1"))
    assert mention.kind == "mention"
    assert [e.kind for e in events.x_events(x_dm("sent by us", "dm-2", sender=X_ACCOUNT))] == [
        "echo"
    ]


@pytest.mark.parametrize(
    "payload",
    [
        messenger_dm("a", "m_5"),
        page_comment("b", "c_5"),
        instagram_comment("c", "i_5"),
        x_dm("d", "d_5"),
        x_mention("e", "t_5"),
    ],
)
def test_stored_event_reads_back_the_same(payload: dict[str, object]) -> None:
    found = events.x_events(payload) if "for_user_id" in payload else events.meta_events(payload)
    (event,) = found
    back = events.load(event.dump())
    assert back == event


@pytest.mark.parametrize("body", [b"", b"[]", b"not json", b"\xff\xfe", b"[" * 100_000])
def test_bodies_that_are_not_json_objects_are_payload_errors(body: bytes) -> None:
    with pytest.raises(events.PayloadError):
        events.loads(body)


def test_hostile_shapes_give_no_events_and_no_exception() -> None:
    for payload in (
        {"object": "page", "entry": "x"},
        {"object": "page", "entry": [None, 1, {"messaging": [None, {"message": "x"}]}]},
        {"object": "page", "entry": [{"changes": [{"field": "feed", "value": []}]}]},
        {"object": "instagram", "entry": [{"messaging": [{"message": {"mid": 5}}]}]},
    ):
        assert all(e.kind in ("dm", "comment") for e in events.meta_events(payload))
    assert events.x_events({"direct_message_events": [{"type": "message_create"}]}) == []


def test_meta_signature_is_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"object":"page"}'
    header = meta_sign(APP_SECRET, body)
    assert meta_signature_valid(APP_SECRET, body, header)
    assert not meta_signature_valid(APP_SECRET, body + b" ", header)  # tampered
    assert not meta_signature_valid(APP_SECRET, body, None)  # missing
    assert not meta_signature_valid(APP_SECRET, body, header.replace("sha256", "sha1"))
    assert not meta_signature_valid("other", body, header)  # forged with another secret
    assert not meta_signature_valid("", body, header)  # not configured: nothing passes
    assert not meta_signature_valid(APP_SECRET, body, "sha256=é")


def test_x_crc_and_signature() -> None:
    # X's documented construction: base64 of HMAC-SHA256(consumer secret, crc_token).
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(
        hmac.new(X_SECRET.encode(), b"challenge", hashlib.sha256).digest()
    ).decode()
    assert x_crc_response(X_SECRET, "challenge") == "sha256=" + expected
    body = b'{"for_user_id":"1"}'
    assert x_signature_valid(X_SECRET, body, x_sign(X_SECRET, body))
    assert not x_signature_valid(X_SECRET, body, x_sign("forged", body))
    assert not x_signature_valid(X_SECRET, body, None)


def test_house_rules_hide_strong_abuse_only() -> None:
    pattern = abusive_pattern(["scumbag"])
    assert is_abusive("You lot are a bunch of f***ing useless... no, FUCKING useless", pattern)
    assert is_abusive("total scumbag landlord", pattern)
    for fair in (
        "Your service is rubbish and I want to complain",
        "My neighbour threatened to kill me",
        "Scunthorpe office still closed?",
        "the repair was crap",
    ):
        assert not is_abusive(fair, pattern), fair
