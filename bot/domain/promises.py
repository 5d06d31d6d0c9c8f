"""Which promises (SLA policies) an interaction starts, by channel, topic and urgency.

Pure: the names are `sla` preset names; a landlord can re-map them in configuration
(`sla.promise_map`), but these defaults follow domain.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.model import Channel, Topic, Urgency


@dataclass(frozen=True, slots=True)
class PromisePlan:
    acknowledge: str  # the clock the automatic acknowledgement stops
    respond: tuple[str, ...]  # clocks staff stop by answering
    complaint: bool = False


# ACK: email is acknowledged at once (EMAIL-NOW); every other channel within 2 working days
# (ACK-2), which our immediate reply meets too.
_ACK_BY_CHANNEL = {
    Channel.EMAIL: "email-ack-now",
    Channel.SMS: "ack-2",
    Channel.WEBCHAT: "ack-2",
    Channel.SOCIAL: "social",
}


def plan_for(
    channel: Channel,
    topic: Topic,
    urgency: Urgency,
    *,
    intent: str | None = None,
    hazards: tuple[str, ...] = (),
) -> PromisePlan:
    ack = _ACK_BY_CHANNEL[channel]
    pressing = urgency in (Urgency.EMERGENCY, Urgency.URGENT)
    respond: list[str] = []
    if topic is Topic.COMPLAINT:
        # COMPLAINT: the procedure goes at once (complaint-procedure-1) and staff must
        # acknowledge the stage 1 complaint within the Code's timescale.
        return PromisePlan(
            acknowledge=ack,
            respond=("complaint-procedure-1", "complaint-stage1-ack"),
            complaint=True,
        )
    if topic is Topic.ASB:
        respond.append("asb-urgent-1" if pressing else "asb-routine-5")  # ASB
    elif channel is Channel.EMAIL:
        respond.append("email-urgent-1" if pressing else "email-3")  # EMAIL-NOW
    elif channel is Channel.SOCIAL:
        pass  # SOCIAL: the social clock is the response clock too
    else:
        respond.append("handoff-urgent-1" if pressing else "handoff-3")  # HANDOFF
    if topic is not Topic.ASB:
        respond.append("respond-10")  # RESP-10: the full answer ('2-ten')
    if topic is Topic.REPAIR and urgency is Urgency.EMERGENCY and hazards:
        respond.append("awaab-emergency")  # Awaab's Law: made safe within 24 hours
    elif intent == "damp_mould":
        respond.append("awaab-investigate")  # Awaab's Law: investigate within 10 days
    return PromisePlan(acknowledge=ack, respond=tuple(respond))


def response_policy(plan: PromisePlan) -> str:
    """The clock whose deadline we tell the resident: the first answer (hand-off, email,
    ASB) before the full one (RESP-10); for a complaint, its stage 1 acknowledgement."""
    if plan.complaint:
        return "complaint-stage1-ack"
    return next((p for p in plan.respond if p != "respond-10"), "respond-10")


def reopen_policy(channel: Channel, topic: Topic, urgency: Urgency) -> str:
    """The response clock a closed case gets when the resident writes again: the first
    answer its channel promises (a complaint's stages are the complaint workflow's)."""
    if topic is Topic.COMPLAINT:
        topic = Topic.GENERAL
    return response_policy(plan_for(channel, topic, urgency))
