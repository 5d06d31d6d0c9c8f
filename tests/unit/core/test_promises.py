"""Which clocks an interaction starts (promise ids from domain.md)."""

from __future__ import annotations

from bot.domain.model import Channel, Topic, Urgency
from bot.domain.promises import plan_for


def test_email_is_acknowledged_now_and_answered_in_three_days() -> None:
    plan = plan_for(Channel.EMAIL, Topic.GENERAL, Urgency.ROUTINE)
    assert plan.acknowledge == "email-ack-now"
    assert plan.respond == ("email-3", "respond-10")


def test_urgent_email() -> None:
    assert plan_for(Channel.EMAIL, Topic.REPAIR, Urgency.URGENT).respond[0] == "email-urgent-1"


def test_asb() -> None:
    assert plan_for(Channel.SMS, Topic.ASB, Urgency.URGENT).respond == ("asb-urgent-1",)
    assert plan_for(Channel.SMS, Topic.ASB, Urgency.ROUTINE).respond == ("asb-routine-5",)


def test_complaint() -> None:
    plan = plan_for(Channel.WEBCHAT, Topic.COMPLAINT, Urgency.ROUTINE)
    assert plan.complaint and plan.respond == ("complaint-procedure-1", "complaint-stage1-ack")


def test_awaab() -> None:
    emergency = plan_for(Channel.EMAIL, Topic.REPAIR, Urgency.EMERGENCY, hazards=("gas",))
    assert "awaab-emergency" in emergency.respond
    mould = plan_for(Channel.SMS, Topic.REPAIR, Urgency.ROUTINE, intent="damp_mould")
    assert "awaab-investigate" in mould.respond


def test_social() -> None:
    plan = plan_for(Channel.SOCIAL, Topic.GENERAL, Urgency.ROUTINE)
    assert plan.acknowledge == "social" and plan.respond == ("respond-10",)
