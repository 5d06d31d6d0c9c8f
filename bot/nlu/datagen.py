"""Writes nlu_data/nlu/*.yml: Doorstep's NLU training data, in Rasa 3 format.

The generated YAML is the source of truth and is committed; this script is how it was made
(fixed seed, so a re-run gives the same files). It mixes hand-written messages, the way
residents really write them, with compositions of hand-written parts (what is wrong, where,
since when, who lives there, how they sign off) passed through SMS shorthand and typos.

Every example is checked against the hazard rules before it is written: an example whose
words the rules treat as an emergency must be labelled emergency (and an urgent-level hazard
at least urgent), so the data and the rules never disagree about a gas smell.

    .venv/bin/python -m bot.nlu.datagen [--out nlu_data]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.nlu.rules import EMERGENCY, ROUTINE, URGENCY_ORDER, URGENT, find_hazards, urgency_floor

SEED = 2026
E, U, R = EMERGENCY, URGENT, ROUTINE


@dataclass(frozen=True, slots=True)
class Ex:
    text: str  # with Rasa entity annotations
    urgency: str


# ---- parts ------------------------------------------------------------------------------
ROOMS = [
    "kitchen",
    "bathroom",
    "bedroom",
    "back bedroom",
    "front bedroom",
    "living room",
    "lounge",
    "hallway",
    "hall",
    "landing",
    "box room",
    "kids room",
    "spare room",
    "front room",
    "loft",
]
DATES = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "last night",
    "yesterday",
    "this morning",
    "last week",
    "the weekend",
    "3rd march",
    "12/01",
    "last friday",
]
POSTCODES = ["M14 5RT", "CF10 1EP", "B12 9QD", "LS6 2AB", "NE4 7YH", "BS5 0JD", "L8 3SU", "SW9 8LF"]
POSTCODES += ["SA1 2HE", "NG7 1FJ", "E3 4PL", "cf24 3aa", "m13 0nb"]
PHONES = ["07700 900123", "07911123456", "07456 221 908", "0161 496 0000", "07823 334455"]
PHONES += ["+44 7700 900456", "02920 018 777", "07399812044"]
REFS = ["DS-2026-000123", "DS-2026-004518", "DS-2025-019944", "DS-2026-000871", "JOB-48213"]
REFS += ["WO 339120", "DS-2026-002231", "JOB-77104"]
NAMES = ["Sharon", "Dave", "Mrs Khan", "Tomasz", "Aisha", "Gareth", "Linda", "Mo", "Precious"]
TRADES = ["plumber", "electrician", "gas engineer", "joiner", "contractor", "surveyor", "roofer"]


def ann(value: str, entity: str) -> str:
    return f"[{value}]({entity})"


def room(rng: random.Random) -> str:
    return ann(rng.choice(ROOMS), "room")


def date(rng: random.Random) -> str:
    return ann(rng.choice(DATES), "date")


# Repairs: (phrase, urgency). "{room}" is filled with an annotated room.
REPAIR_PROBLEMS: list[tuple[str, str]] = [
    # routine
    ("the tap in the {room} is dripping", R),
    ("kitchen tap wont stop dripping", R),
    ("cupboard door in the {room} has come off its hinge", R),
    ("the extractor fan in the {room} has stopped working", R),
    ("loose floor tiles in the {room}", R),
    ("the sealant round the bath has gone black and is peeling off", R),
    ("the door handle on the {room} door has come off", R),
    ("window in the {room} wont open", R),
    ("the handle on the {room} window is broken", R),
    ("the gutter at the back is blocked and overflows when it rains", R),
    ("light pull cord in the bathroom has snapped", R),
    ("the doorbell isnt working", R),
    ("a kitchen drawer runner is broken", R),
    ("skirting board coming away from the wall in the {room}", R),
    ("there's a crack in the plaster in the {room}", R),
    ("the shower head holder has snapped off", R),
    ("the toilet seat is broken", R),
    ("the toilet keeps running after you flush it", R),
    ("bath is really slow to drain", R),
    ("the letterbox flap has fallen off", R),
    ("loft hatch wont close properly", R),
    ("garden gate wont latch", R),
    ("grab rail in the bathroom is loose", R),
    ("the worktop by the sink has swollen and is coming away", R),
    ("paving slab in the back garden is lifting and its a trip hazard", R),
    ("sash cord has gone on the {room} window", R),
    ("trickle vent on the {room} window is stuck", R),
    ("smoke alarm keeps chirping, think the battery needs replacing", R),
    ("fence panel at the back has come loose", R),
    ("the bathroom door doesnt close properly, it catches on the floor", R),
    ("tiles above the bath are cracked", R),
    ("the kitchen door has dropped and scrapes the floor", R),
    ("radiator in the {room} needs bleeding, cold at the top", R),
    ("thermostat is reading wrong", R),
    ("one of the kitchen cupboard doors is hanging off", R),
    ("the bathroom lino is lifting", R),
    ("outside tap is dripping", R),
    ("the window seal is gone and there's a draught in the {room}", R),
    ("shed door is rotten", R),
    ("the bannister on the stairs is a bit wobbly", R),
    ("need the chimney swept", R),
    ("the plughole in the bath is blocked with hair and slow", R),
    ("the kitchen light flickers now and then", R),
    ("the wall tiles in the {room} are coming off", R),
    ("the curtain rail has come away from the wall", R),
    ("extractor hood over the cooker is really noisy", R),
    ("a fence post is rotten and leaning", R),
    ("the front door letterbox lets a horrible draught in", R),
    # urgent
    ("no hot water since {date}", U),
    ("boiler keeps cutting out", U),
    ("the heating isnt working", U),
    ("boiler is showing an error code and the heating wont come on", U),
    ("the toilet wont flush but we have another one downstairs", U),
    ("leak under the kitchen sink, ive put a bowl under it", U),
    ("front door lock is really stiff and hard to turn", U),
    ("a window pane in the {room} is cracked", U),
    ("the kitchen sink is blocked and wont drain at all", U),
    ("the lift in our block is broken again", U),
    ("roof is leaking into the loft when it rains, buckets are catching it", U),
    ("two of the sockets in the {room} have stopped working", U),
    ("the shower has stopped working completely", U),
    ("the door entry system isnt working so visitors cant buzz in", U),
    ("water dripping from the bathroom extractor... no wait from the pipe under the bath", U),
    ("mice in the kitchen, droppings everywhere", U),
    ("rats in the garden and one got into the {room}", U),
    ("the cistern is cracked and leaking a little, we have a second toilet", U),
    ("radiator valve is leaking slowly onto the carpet", U),
    ("the bath tap wont turn off fully and its running constantly", U),
    ("hot water is only lukewarm", U),
    ("gutter leaking down the outside wall and soaking the brickwork", U),
    ("the communal entrance door is sticking and takes ages to close", U),
    ("the wash basin has come away from the wall a bit", U),
    ("drain outside is blocked and smells", U),
    ("the {room} window wont close all the way", U),
    ("the boiler pressure keeps dropping", U),
    ("the heating only works in half the flat", U),
    ("the storage heaters arent working", U),
    ("no heating in the {room}, rest of the flat is ok", U),
    ("the immersion heater has packed in", U),
    ("the electric shower keeps tripping out", U),
    ("a roof tile slipped and theres a gap", U),
    ("the lights in the communal stairwell are all out", U),
    # emergency
    ("i can smell gas in the {room}", E),
    ("strong smell of gas near the cooker", E),
    ("smells like gas in the hallway", E),
    ("gas leak i think, hissing by the meter", E),
    ("the carbon monoxide alarm is going off", E),
    ("co alarm keeps beeping and wont stop", E),
    ("there's water pouring through the {room} ceiling", E),
    ("a pipe has burst in the {room}", E),
    ("the flat is flooding from the bathroom", E),
    ("water is leaking into the light fitting in the {room}", E),
    ("water dripping through the light in the {room}", E),
    ("the socket in the {room} is sparking", E),
    ("there are exposed wires hanging out of the wall in the {room}", E),
    ("burning smell coming from the fuse box", E),
    ("we have no electric at all", E),
    ("the power has gone off in the whole flat", E),
    ("no water at all, nothing coming out of the taps", E),
    ("sewage is coming up through the {room} drain", E),
    ("our only toilet is blocked and wont flush", E),
    ("we've been broken into and the front door wont lock", E),
    ("the {room} ceiling has collapsed", E),
    ("the ceiling is bowing and looks like it's coming down", E),
    ("storm damage, tiles blown off the roof and rain pouring in", E),
    ("stuck in the lift on the 9th floor", E),
    ("the fuse box keeps tripping and we have no power", E),
    ("kitchen fire earlier, the fire brigade have been", E),
    ("water coming through the ceiling onto the plug sockets", E),
    ("fuse box is wet, water running down the wall over it", E),
]

VULNERABLE_HEATING = [
    "no heating and i have a {n} month old baby",
    "boiler broken, my elderly mum lives with me and she's {age}",
    "no heating or hot water and its freezing, the kids are cold",
    "heating not working and I'm 8 months pregnant",
    "the boiler has packed up again and my husband is disabled and can't keep warm",
    "no heat at all and it's minus 2 outside",
    "no heating since {date}, my daughter is asthmatic and it's so cold",
    "heating not working, I'm 84 and live alone",
    "boiler dead and we've got a newborn",
    "radiators are stone cold and theres snow outside",
    "no heating and hot water with a 2 week old baby in the house",
    "my nan is staying with us and the heating's gone off",
    "boiler wont fire, I'm on oxygen and in a wheelchair and its very cold",
    "no heating in december with a toddler",
    "without heating for 3 days and my son is disabled",
]
DAMP_PROBLEMS: list[tuple[str, str]] = [
    ("black mould all over the {room} ceiling", U),
    ("damp patch on the {room} wall keeps getting bigger", U),
    ("mould growing behind the wardrobe in the {room}", U),
    ("condensation running down the windows every morning and the sills are black", U),
    ("the {room} smells musty and theres mould in the corners", U),
    ("mould on the bathroom ceiling keeps coming back even after I bleach it", U),
    ("damp coming through the outside wall in the {room}", U),
    ("wallpaper peeling off with damp in the {room}", U),
    ("our clothes in the wardrobe are going mouldy", U),
    ("black spots all round the window frames", U),
    ("rising damp in the {room}, plaster is crumbling at the bottom", U),
    ("mildew on the ceiling above the shower", U),
    ("the carpet in the {room} is damp and smells", U),
    ("theres black stuff growing on the walls", U),
    ("mold in the kids bedroom", U),
    ("tide marks and damp under the {room} window", U),
    ("mould on the ceiling and my sons asthma is getting worse", E),
    ("the damp is making my baby poorly, she keeps coughing", E),
    ("mould everywhere and the GP says its affecting my breathing", E),
    ("black mould in the bedroom and my daughter has had 3 chest infections", E),
    ("my kids keep getting ill from the damp and mould, the doctor wrote a letter", E),
    ("damp and mould in the flat, I have COPD and cant breathe properly", E),
    ("mould in the baby's room and he's wheezing at night", E),
    ("the mould has made my asthma so bad I ended up in hospital", E),
    ("damp is affecting my health, im on my inhaler constantly", E),
    ("mould is making us all ill, we have constant coughs", E),
]
OPENERS = [
    "",
    "",
    "",
    "Hi, ",
    "Hello, ",
    "hi ",
    "Morning, ",
    "Good afternoon, ",
    "hiya ",
    "Dear Sir/Madam, ",
    "Hi there, I'd like to report a repair. ",
    "Can someone come out please, ",
    "Repair needed - ",
    "Not sure if this is the right place but ",
    "Hi, this is {name} from flat 4, ",
    "Hello I live at {postcode} and ",
    "Just reporting that ",
    "Evening. ",
    "Sorry to bother you but ",
    "Hello, I rent from you and ",
]
EXTRAS_ROUTINE = [
    "",
    "",
    "",
    " can someone come and look at it",
    " when can you send someone",
    " I'm in most days",
    " my number is {phone}",
    " please call me on {phone}",
    " thanks",
    " cheers",
    " ta",
    " photos attached",
    " I'm home after 3pm",
    " please advise",
    " its been like that since {date}",
    " not urgent but needs doing",
    " can you book someone in",
    " any chance of getting it sorted",
    " postcode {postcode}",
    " thank you in advance",
    " started {date}",
]
EXTRAS_URGENT = [
    "",
    "",
    " can someone come asap",
    " please send someone soon",
    " its getting worse",
    " call me on {phone}",
    " been like it since {date}",
    " need this sorting this week please",
    " im struggling without it",
    " please help",
    " postcode {postcode}",
]
EXTRAS_EMERGENCY = [
    "",
    "",
    " please help",
    " what do i do",
    " urgent!!",
    " please send someone now",
    " im scared",
    " call me on {phone}",
    " its really bad",
    " we're at {postcode}",
    " need someone tonight",
    " HELP",
    " I've turned everything off at the mains",
]


def fill(template: str, rng: random.Random) -> str:
    out = template
    while "{room}" in out:
        out = out.replace("{room}", room(rng), 1)
    replacements: dict[str, Callable[[], str]] = {
        "{date}": lambda: date(rng),
        "{phone}": lambda: ann(rng.choice(PHONES), "phone_number"),
        "{postcode}": lambda: ann(rng.choice(POSTCODES), "postcode"),
        "{ref}": lambda: ann(rng.choice(REFS), "reference"),
        "{name}": lambda: rng.choice(NAMES),
        "{trade}": lambda: rng.choice(TRADES),
        "{n}": lambda: str(rng.randint(2, 11)),
        "{age}": lambda: str(rng.randint(78, 94)),
        "{weeks}": lambda: rng.choice(["3 weeks", "6 weeks", "two months", "4 months", "a year"]),
        "{nth}": lambda: rng.choice(["third", "3rd", "fourth", "fifth", "4th", "sixth"]),
    }
    for key, make in replacements.items():
        while key in out:
            out = out.replace(key, make(), 1)
    return out


# ---- noise ------------------------------------------------------------------------------
_ANNOTATION = re.compile(r"(\[[^\]]+\]\([a-z_]+\))")
SMS = {
    "you": "u",
    "your": "ur",
    "you're": "ur",
    "please": "pls",
    "thanks": "thx",
    "because": "cos",
    "tomorrow": "tmrw",
    "tonight": "2nite",
    "before": "b4",
    "really": "rly",
    "people": "ppl",
    "someone": "some1",
    "anyone": "any1",
    "are": "r",
    "and": "&",
    "with": "wiv",
    "about": "abt",
    "don't": "dont",
    "can't": "cant",
    "won't": "wont",
    "i'm": "im",
    "it's": "its",
    "i've": "ive",
    "doesn't": "doesnt",
    "isn't": "isnt",
    "there's": "theres",
    "what": "wot",
    "know": "no",
    "going to": "gonna",
    "be": "b",
    "to": "2",
    "for": "4",
}


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    vowels = "aeiou"
    if word[i] in vowels:
        return word[:i] + rng.choice(vowels) + word[i + 1 :]
    return word


def _mess_plain(text: str, rng: random.Random, sms: float, typos: float) -> str:
    words = text.split(" ")
    out: list[str] = []
    for word in words:
        low = word.lower()
        if low in SMS and rng.random() < sms:
            word = SMS[low]
        elif rng.random() < typos:
            word = _typo(word, rng)
        out.append(word)
    return " ".join(out)


def _floor(text: str) -> int:
    level = urgency_floor(find_hazards(plain(text)))
    return URGENCY_ORDER[level] if level else 0


def messy(text: str, rng: random.Random) -> str:
    """`_messy`, retried when the noise changed what the hazard rules see.

    The rules tolerate common slips ("smel of gas"), not every random typo; the rules' own
    typo tolerance is tested separately, so the data keeps its labels honest instead.
    """
    wanted = _floor(text)
    for _ in range(6):
        result = _messy(text, rng)
        if _floor(result) == wanted:
            return result
    return text


def _messy(text: str, rng: random.Random) -> str:
    """How residents type: lowercase, no punctuation, shorthand, typos (never inside entities)."""
    style = rng.random()
    if style < 0.3:
        return text  # written carefully
    sms = 0.5 if style > 0.7 else 0.15
    typos = 0.06 if style > 0.55 else 0.02
    parts = _ANNOTATION.split(text)
    for i in range(0, len(parts), 2):
        chunk = parts[i]
        if rng.random() < 0.7:
            chunk = chunk.lower()
        if rng.random() < 0.5:
            chunk = re.sub(r"[.,!?;]+(?=\s|$)", "", chunk)
        parts[i] = _mess_plain(chunk, rng, sms, typos)
    return "".join(parts)


def plain(text: str) -> str:
    return re.sub(r"\[([^\]]+)\]\([a-z_]+\)", r"\1", text)


# ---- builders ---------------------------------------------------------------------------
def repairs(rng: random.Random, per_problem: int) -> list[Ex]:
    out: list[Ex] = []
    extras = {R: EXTRAS_ROUTINE, U: EXTRAS_URGENT, E: EXTRAS_EMERGENCY}
    for phrase, urgency in REPAIR_PROBLEMS:
        for _ in range(per_problem + (1 if urgency == E else 0)):
            text = rng.choice(OPENERS) + phrase + rng.choice(extras[urgency])
            out.append(Ex(messy(fill(text, rng), rng), urgency))
    for phrase in VULNERABLE_HEATING:
        for _ in range(2):
            text = rng.choice(OPENERS) + phrase + rng.choice(EXTRAS_EMERGENCY)
            out.append(Ex(messy(fill(text, rng), rng), E))
    return out


def damp(rng: random.Random, per_problem: int) -> list[Ex]:
    out: list[Ex] = []
    for phrase, urgency in DAMP_PROBLEMS:
        for _ in range(per_problem):
            extras = EXTRAS_EMERGENCY if urgency == E else EXTRAS_ROUTINE + EXTRAS_URGENT
            text = rng.choice(OPENERS) + phrase + rng.choice(extras)
            out.append(Ex(messy(fill(text, rng), rng), urgency))
    return out


COMPLAINT_FRAMES = [
    "this is the {nth} time I've reported that {p} and it's still not fixed",
    "{p} - still not fixed after {weeks} and nobody has called me back",
    "I reported that {p} {weeks} ago and I'm still waiting, absolutely fed up",
    "how many times do I have to tell you {p}?? nobody listens",
    (
        "I've rung {nth} time about this, {p}, and every time I'm promised a call back that "
        "never comes"
    ),
    "still waiting!!! {p} and you lot keep cancelling the appointment",
    "{p}. your {trade} came, looked at it and left without fixing anything. not good enough",
    "I want to make a formal complaint. {p} and it's been ignored for {weeks}",
    "disgusted with the service, {p} and I've been passed from pillar to post",
    "{p} and the job was closed as complete when nobody even came",
    "you marked my repair {ref} as done but {p} still",
    "i'm paying rent for a flat where {p} and nobody cares, {weeks} now",
    "nobody turned up again. {p}. I took a day off work for nothing",
]
COMPLAINT_HAND = [
    (
        "I waited in all day on [tuesday](date) for the plumber and nobody turned up, no phone "
        "call, nothing"
    ),
    "the lady I spoke to on the phone this morning was so rude and hung up on me",
    "Your contractor left my bathroom in a complete mess, dust everywhere and they broke my sink",
    "I want to make a complaint about the way my repair has been handled",
    (
        "please escalate my complaint [DS-2026-000123](reference) to stage 2, I'm not happy "
        "with the response"
    ),
    "i am not happy with the stage 1 response at all, i want it looked at again",
    "if this isnt sorted by friday im going to the housing ombudsman",
    "I've contacted my MP about how you have treated my family",
    (
        "I want compensation for all the food I lost when your electrician left my fridge "
        "switched off for 3 days"
    ),
    "absolutely disgusted with how I've been treated by your housing officer",
    "you promised to call me back three times and never did",
    "nobody ever answers the phone, I've been on hold for 50 minutes",
    "the workmen were smoking in my house and swearing in front of my kids",
    "your staff member came round and was really rude and dismissive about the mould",
    "i'm sick of being ignored, nobody replies to my emails",
    "i've sent 4 emails and had no reply to any of them",
    "I'd like to complain about the service charge increase, nobody explained it",
    "The grounds maintenance team haven't cut the grass all summer but we're still being charged",
    "the repair was done badly, the new window leaks worse than the old one",
    (
        "your surveyor said the damp was our fault for drying clothes inside, which is "
        "nonsense and insulting"
    ),
    "I was told someone would come within 24 hours, it's been a week",
    "why does it take 3 months to fix a door? ridiculous",
    "the caretaker hasn't cleaned the stairs in weeks and when I asked he swore at me",
    "you cancelled my appointment at the last minute again, that's the third time",
    "I have been treated unfairly by your anti social behaviour team, they did nothing",
    "I reported my neighbour 6 times and you've done nothing about it, I'm making a complaint",
    "not happy with how my complaint was dealt with, nobody even acknowledged it",
    "the engineer damaged my kitchen floor and refused to take responsibility",
    (
        "My rent account is wrong again and nobody will sort it out, this has been going on "
        "since [march](date)"
    ),
    "you took double rent from my account and nobody has refunded it after two weeks",
    "appalling service, complete waste of time ringing you",
    "how is it acceptable to leave a family without a working shower for 5 weeks",
    "I'm writing to express my dissatisfaction with the handling of my transfer request",
    "formal complaint re: ongoing failure to repair the roof at [NE4 7YH](postcode)",
    "complaint about housing officer not returning calls",
    "i want this logged as a complaint, the contractor never turned up and nobody told me",
    "Im livid. Second time this month the operatives have not shown up",
    "Disgraceful. I'm 80 and had to wait in the cold all day for an engineer that never came",
    "why do i have to chase you every single time, its your job not mine",
    "you lot are useless, idiots the lot of you, 6 weeks and still no kitchen",
    "fuming. the job number [JOB-48213](reference) was closed but nothing was done",
    "the repairs line kept me on hold for an hour then cut me off",
    "The way your officer spoke to my elderly father was unacceptable",
    "I paid for my own plumber in the end because you never came, I want reimbursing",
    "I've lost count of the number of times I've reported this leak",
    "still nothing, I reported it on [12/01](date) and no one has been in touch",
    "you keep saying it's been passed to the team but nobody knows who has it",
    "I'm unhappy that my complaint response didn't address any of my points",
    "this is a joke, third call this week and still no answer",
    "the new boiler your contractor fitted has broken twice in a month, shoddy work",
    "nobody told me the scaffolding was going up and now I can't open my windows",
    "the tradesman left the gas off and didn't tell anyone, we had no cooking for 2 days",
    "I was promised a call from a manager and it never happened",
    "I want to speak to someone about making a complaint about the asb team",
    "you have ignored my letters about the damp for over a year",
    "appointment missed again, I want compensation for my time off work",
    (
        "I'm making a complaint because no one has responded to my repair request "
        "[DS-2026-004518](reference) in 3 weeks"
    ),
    "the so called customer service is a disgrace",
    "your letter was wrong and threatened me with eviction for arrears I don't owe",
    "the communal cleaning we pay for never happens, the stairs are filthy",
    "i feel discriminated against by the way you handled my housing application",
    "The contractors broke my fence while doing the roof and won't fix it",
    "you said 20 working days, it's been 40",
    "Complaint: Operative was rude and refused to remove his shoes",
    "tried to report a repair online and the system lost it twice",
    "why was my repair cancelled without anyone asking me",
    "no one has come back to me about my complaint from last month",
]
ASB_ROUTINE = [
    "neighbour plays loud music every night until 3am",
    "the people upstairs are constantly banging and stamping, every single night",
    "flat {n} have parties every weekend, music blaring till 4 in the morning",
    "the dog next door barks all day when they're at work",
    "someone has sprayed graffiti all over the bin store",
    "kids keep kicking footballs against my windows",
    "people dumping rubbish and an old mattress by the bins",
    "neighbour lets his dog foul in the communal garden and never picks it up",
    "there's a constant smell of cannabis coming into my flat from next door",
    "youths hanging around the stairwell smoking weed and leaving litter",
    "neighbours keep shouting and arguing, I can hear everything",
    "the bins are overflowing because next door dumps all their rubbish in ours",
    "my neighbour's tree is blocking all the light and she won't cut it back",
    "someone keeps leaving bags of rubbish on the landing",
    "the flat above has a washing machine going at midnight every night",
    "kids have smashed the glass in the bus shelter outside the flats",
    "neighbour has 5 cats and the smell in the corridor is awful",
    "fly tipping behind the garages again",
    "noise nuisance from next door, drilling and hammering at all hours",
    "my neighbour keeps putting her bins in front of my gate",
    "people using the communal garden as a toilet",
    "teenagers on motorbikes riding round the green every evening",
    "dispute with my neighbour about the boundary fence, it's getting nasty",
    "the neighbours dog is always loose and jumps at people",
    "someone keeps throwing cigarette ends onto my balcony",
    "they keep slamming doors at all hours of the night",
    "vandalism in the lift again, buttons burnt and graffiti",
    "constant loud TV through the wall until the early hours",
    "neighbour keeps feeding pigeons and the mess is everywhere",
    "there's a gang of lads drinking in the car park every night and leaving cans",
    "loud arguments from number {n} nearly every evening",
    "someone keeps scratching and kicking my front door",
    "the people below smoke on their balcony and it comes into our flat",
    "a neighbour keeps blocking the fire exit with a bike and pram",
    "needles left in the stairwell",
    "people keep coming to the door of flat {n} at all hours, I think they're dealing drugs",
    "drug dealing going on openly outside the block",
]
ASB_URGENT = [
    "my neighbour threatened me",
    "the man next door has been threatening me and my kids",
    "I'm being harassed by the people upstairs, they bang on my door and shout abuse",
    "someone wrote racist graffiti on my door",
    "the neighbour called my son a racist name and told us to go back to our own country",
    "I'm getting homophobic abuse from the lads downstairs every time I go out",
    "my ex keeps turning up at the flat and won't leave me alone",
    "my partner hits me and I need to move, please help",
    "I'm suffering domestic abuse and need to talk to someone about a safe place",
    "I think my elderly neighbour is being cuckooed, strangers are living in his flat",
    "drug dealers have taken over the flat next door, the tenant is vulnerable",
    "the woman next door assaulted me on the stairs yesterday",
    "my neighbour punched my husband in the car park",
    "they keep intimidating me when I leave the house",
    "I'm being stalked by a man from the next block",
    "my neighbour keeps following me and filming me",
    "they spat at me and called me names because I wear a hijab",
    "neighbours are harassing us because my son is disabled",
    "a group of youths attacked my son outside the flats",
    "threatening notes pushed through my letterbox",
    "my neighbour said he would sort me out if I complain again",
    "I'm scared to leave my flat, the man upstairs keeps threatening me",
    "there was a fight outside my door last night and blood on the stairs",
    "I need help, my husband is controlling and won't let me have money or leave",
    "someone has been harassing my daughter online and they live in the block",
    "young lads intimidating residents in the lobby every night, people are scared",
]
ASB_EMERGENCY = [
    "my neighbour is outside my door with a knife right now",
    "he's threatening to kill me, he's banging on the door",
    "someone is trying to kick my door in right now",
    "the man upstairs said he's going to burn the flat down with us in it",
    "my ex is here and he's got a knife, I'm hiding in the bathroom",
    "we're being attacked right now outside the block",
    "a man with a machete is in the stairwell",
    "I don't feel safe, my neighbour is threatening to stab me",
    "please help me now, he's smashing the windows and says he will kill us",
    "my neighbour is threatening to kill my dog and me, he is outside now",
    "im in danger my partner is going to kill me",
    "there's a man waving a gun around in the car park",
]
ASB_FRAMES = [
    "{x}",
    "{x}, can you do something",
    "Hi, I want to report {x}",
    "{x}. This has been going on since {date}",
    "{x}, it's been going on for months and I'm at the end of my tether",
    "{x} - what can you do about it?",
    "{x}. I've kept a diary",
    "Hello, {x}. My number is {phone}",
    "Reporting antisocial behaviour: {x}",
    "{x}. i live at {postcode}",
]
ASB_EMERGENCY_FRAMES = ["{x}", "{x} please help", "{x}!!", "HELP {x}", "{x} what do I do"]

GENERAL = [
    "what day are the bins collected",
    "what are your opening hours",
    "what time does the office close on a friday",
    "how do I apply for housing with you",
    "can I get a parking permit for my street",
    "my neighbour keeps parking across my drive",
    "someone keeps parking in my allocated bay",
    "cars are parked on the grass verge outside the flats",
    (
        "the people next door had a party on saturday, it was loud but it was a one off, just "
        "letting you know"
    ),
    (
        "there was a birthday party next door last night, it finished about 1am, not a big "
        "deal but thought I'd mention it"
    ),
    "a van has been parked outside my house for a week, is it anything to do with you",
    "can I keep a dog in my flat",
    "am I allowed to paint my living room",
    "can I put up a satellite dish",
    "I need to update my phone number, it's now {phone}",
    "how do I change the email address on my account",
    "I need a letter confirming my address for the bank",
    "when is the next residents meeting",
    "when is the communal grass cut",
    "how do i get a new key fob for the main door",
    "do you offer contents insurance",
    "can I have a copy of my tenancy agreement",
    "who is my housing officer",
    "how do I log in to the online portal",
    "I've forgotten my password for my account",
    "is the office open on bank holidays",
    "what's the address of your main office",
    "can I get help with a job or training",
    "do you have any money advice service",
    "can I install a shower seat myself or do you have to do it",
    "I'd like to apply for an adaptation for my bathroom",
    "are you replacing the windows in our block this year",
    "what is happening with the building work at the back of the flats",
    "when will the scaffolding come down",
    "I received a letter about a gas safety check, what is it for",
    "do I need to be in for the electrical safety inspection",
    "can you tell me who owns the garages behind the block",
    "i want to rent a garage",
    "is there a waiting list for garden plots",
    "who do I speak to about the service charge breakdown",
    "can I get a larger print version of the newsletter",
    "do you have information in Polish",
    "I need an interpreter for my appointment",
    "what's the number for the council tax",
    "how do I get rid of a sofa, do you collect bulky waste",
    "the street light outside is broken, is that you or the council",
    "how do I register to vote at my new address",
    "my post is going to the wrong flat",
    "can I get a copy of the fire risk assessment for my block",
    "is there a fire evacuation plan for my block",
    "how do I put in a request to buy my home",
    "do you have any bungalows available",
    "can my carer have a key to the building",
    "can I have a wheelchair ramp fitted at my front door",
    "where do I send my photos of the repair",
    "how long does a repair usually take",
    "how do I report a repair online",
    "is there a residents association",
    "do you do energy saving advice",
    "I'm struggling with my energy bills, can you help",
    "are pets allowed in the new build flats",
    "can I fit a new kitchen myself",
    "what do I do about condensation, any tips",
    "is the cost of living support fund still open",
    "I saw a rat by the bins outside, who deals with pest control round here",
    "i want to get involved in the tenants panel",
    "how do I make a subject access request for my data",
    "I'm a support worker, can I speak on behalf of my client",
    "can I have a copy of my repair history",
    "can you tell me if my gas safety certificate is up to date",
    "visitors keep parking in the disabled bays",
    "does my rent include water rates",
    "who do I talk to about adapting my home for my disability",
    "is there somewhere to store my mobility scooter",
    "can I have a new bin, mine was taken",
    "where can I find the complaints policy",
    "just wanted to ask how long the repairs line is open",
    "got a letter about a home visit, what's it about",
    "is there any update on the regeneration plans",
]
RENT = [
    "how do I pay my rent",
    "can I pay my rent by card over the phone",
    "I'm behind on my rent and want to set up a payment plan",
    "can you send me a rent statement",
    "I want to change the date of my direct debit",
    "why has my rent gone up this year",
    "my universal credit hasn't paid my rent this month",
    "I paid my rent twice by mistake, can I have a refund",
    "what's my rent balance",
    "I can't afford my rent this month, what do I do",
    "I need a letter for housing benefit",
    "how much is my weekly rent",
    "I got an arrears letter but I've paid",
    "can I pay fortnightly instead of monthly",
    "I've lost my job and I'm worried about paying the rent",
    "what's the reference I use for paying rent at the post office",
    "has my rent payment gone through",
    "universal credit want a rent verification from you",
    "do you take payments by bank transfer, what are the details",
    "my housing benefit has stopped and I don't know why",
    "can I get a discretionary housing payment",
    "I was charged a court fee on my rent account, why",
    "is the rent free week at christmas this year",
    "i got a notice seeking possession for arrears, what happens now",
    "set up a standing order for rent please",
    "the rent card you sent doesnt scan at the shop",
    "how do i check my rent account online",
    "i need help filling in the universal credit housing costs",
    "my rent is in credit can i get it back",
    "will my rent go down now my son has moved out",
    "pay rent",
    "rent arrears help",
    "I want to clear my arrears in one go, how",
    "the direct debit bounced, can I pay another way",
    "got a text saying I owe money but my account says I'm up to date",
    "when is my rent due",
    "can I have a breakdown of my service charges on my rent",
    "I've started work so I need to tell you my benefits have changed",
    "paying rent for my mum who is in hospital, how",
    "i need proof of rent paid for my visa application",
]
TENANCY = [
    "I want to add my partner to my tenancy",
    "I'd like to end my tenancy and give notice",
    "how do I do a mutual exchange",
    "I want a transfer to a bigger property, we're overcrowded",
    "my mum passed away, can I take over her tenancy",
    "I want to change from a joint tenancy to a sole tenancy",
    "my son has moved out, do I need to tell you",
    "I'd like to downsize to a one bedroom flat",
    "I got married and changed my name, can you update the tenancy",
    "can I take in a lodger",
    "can my daughter move back in with me",
    "I need to move because of my disability, the stairs are too much",
    "how much notice do I need to give to leave",
    "my husband left and I want the tenancy in my name only",
    "I've been offered a property elsewhere and want to hand my keys back",
    "can I sublet my flat while I work abroad",
    "my brother has been living with me for 2 years, can he be added",
    "what's the process for succession",
    "I'm going into a care home, what happens to my tenancy",
    "we've split up, who keeps the flat",
    "I'm on the transfer list, where am I on it",
    "I want to swap my house with someone on homeswapper",
    "my mum is moving in with me to be cared for, do I need permission",
    "can I give my keys back early",
    "I want to buy my council house",
    "my starter tenancy is ending, will I get a full tenancy",
    "how do I apply for a management transfer",
    "my partner moved in last month, do you need to know",
    "I'm going to prison for a few months, what do I do about my flat",
    "i need to move out by the end of the month, whats the process",
    "can you tell me how to register for a move",
    "my tenant's name is wrong on the agreement, can it be changed",
    "I want to give up the garage I rent",
    "I've got a new job in Leeds so I'm leaving, how do I end it",
    "my father died last week, what do I need to do about his flat",
]
CHANGE_APPT = [
    "I need to change my appointment",
    "can I rearrange my appointment on {date}",
    "i cant make the gas safety check tomorrow can we move it",
    "can the plumber come in the afternoon instead of the morning",
    "I need to reschedule the job {ref}",
    "something's come up, can we do the repair another day",
    "is there a later slot for the electrician",
    "can you move my appointment to next week",
    "I'm working on {date}, can the engineer come another day",
    "the appointment time doesn't suit me, can we change it",
    "can I move my gas service to a saturday",
    "need to rebook the inspection",
    "I've got a hospital appointment the same day as the repair, can we swap",
    "could the surveyor come a bit later",
    "rearrange please, I won't be in on {date}",
    "i need a different date for my repair {ref}",
    "can we push the visit back a week",
    "I'll be on holiday, can the appointment be moved",
    "change appt pls",
    "is it possible to bring my appointment forward",
    "the text says {date} but I'm not in, can I change it",
    "can I book a new time for my boiler service",
    "my kids are off school that day, different day please",
    "need to move the joiner's visit",
]
CANCEL_APPT = [
    "cancel my appointment please",
    "I no longer need the plumber, I fixed it myself",
    "please cancel the visit on {date}",
    "you can cancel the repair, it's sorted now",
    "cancel job {ref}",
    "don't need the electrician anymore, cancel it",
    "I want to cancel my gas safety appointment",
    "the leak stopped so no need for anyone to come",
    "please cancel, my landlord sorted it... I mean my son sorted it",
    "cancel tomorrow's appointment",
    "I don't need the repair any more",
    "no longer needed, please cancel {ref}",
    "scrap the appointment, we're moving out",
    "cancel the booking for {date} please",
    "can you cancel the surveyor visit",
    "not needed now thanks, cancel",
    "call off the repair, it started working again",
    "the boiler's fine now, cancel the engineer",
]
COMPLIMENT = [
    "the plumber who came today was brilliant, please pass on my thanks",
    "just want to say thank you to Sarah in customer services, she was so helpful",
    "really happy with my new kitchen, great job",
    "your electrician was polite, quick and tidy, credit to you",
    "well done to the repairs team, fixed in a day",
    "I want to compliment the caretaker, the block has never looked so clean",
    "the new windows are fantastic, thank you",
    "my housing officer has been amazing with my transfer",
    "the gas engineer was lovely with my mum",
    "fair play, you sorted my boiler really fast",
    "excellent service today",
    "I'd like to give positive feedback about the roofers",
    "thank you for sorting the damp so quickly, the flat feels so much better",
    "the lady on the phone was so kind when I was upset",
    "top job lads",
    "very impressed with how quickly you responded",
    "the new bathroom is beautiful, thank you all",
    "shout out to the grounds team, the garden looks great",
    "i rarely say this but great service",
    "diolch yn fawr to the team for the quick repair",
    "the ASB officer really helped us, things are much better now",
    "the contractor cleaned up after themselves perfectly",
    "5 stars for the joiner",
    "Mo from the repairs team went above and beyond",
    "please thank the engineer who came out at night, he was a star",
    "i want to praise the support I got from the tenancy team",
    "the new entry system is so much better",
    "whoever did the painting in the stairwell did a lovely job",
]
GREET = [
    "hi",
    "hello",
    "hiya",
    "hey",
    "good morning",
    "good afternoon",
    "good evening",
    "morning",
    "afternoon",
    "hello there",
    "hi there",
    "hey there",
    "alright",
    "helo",
    "hii",
    "hellooo",
    "heya",
    "yo",
    "hi, anyone there?",
    "hello is anyone there",
    "hi good morning",
    "hello?",
    "morning all",
    "hi team",
    "hello, is this the housing association",
    "hiya hun",
    "evening",
    "howdy",
    "hey, hope you're well",
    "hi, hope you are ok",
    "greetings",
    "good day",
    "hallo",
    "hi how are you",
    "hello :)",
    "shwmae",
    "bore da",
    "prynhawn da",
    "hey hi",
    "hi!",
    "hello hello",
    "hi there!",
    "morning!",
    "yo hello",
]
GOODBYE = [
    "bye",
    "goodbye",
    "bye bye",
    "see you",
    "see ya",
    "cya",
    "speak soon",
    "talk later",
    "that's all, bye",
    "ok bye",
    "cheers, bye",
    "have a good day",
    "have a nice weekend",
    "take care",
    "good night",
    "night",
    "bye for now",
    "that's everything, goodbye",
    "laters",
    "ta ra",
    "ttyl",
    "i'm off now",
    "gotta go",
    "catch you later",
    "hwyl",
    "hwyl fawr",
    "all done, bye",
    "thats it bye",
    "ok thats all",
    "farewell",
    "enjoy your day",
    "bye x",
    "tara",
    "see you later",
]
THANKS = [
    "thanks",
    "thank you",
    "thank you so much",
    "cheers",
    "ta",
    "thx",
    "ty",
    "thanks a lot",
    "many thanks",
    "thank u",
    "thanks very much",
    "much appreciated",
    "appreciate it",
    "thanks for your help",
    "great thanks",
    "lovely thank you",
    "brill thanks",
    "cheers mate",
    "thankyou",
    "thanx",
    "ok thank you",
    "perfect, thanks",
    "thanks for getting back to me",
    "thank you for your help today",
    "that's great, thanks",
    "cheers for that",
    "nice one",
    "ta very much",
    "diolch",
    "diolch yn fawr",
    "thanks so much for the quick reply",
    "thank you, that helps",
    "fab thanks",
    "ok cheers",
    "thank you kindly",
    "thanks!!",
    "thank you :)",
    "thanks love",
    "big thanks",
    "awesome thanks",
    "thanks that's really helpful",
    "thanks for letting me know",
]
AFFIRM = [
    "yes",
    "yeah",
    "yep",
    "yup",
    "ye",
    "y",
    "yes please",
    "ok",
    "okay",
    "sure",
    "of course",
    "that's right",
    "correct",
    "absolutely",
    "definitely",
    "sounds good",
    "yes that's fine",
    "go ahead",
    "please do",
    "yeah go on",
    "fine",
    "alright then",
    "that works",
    "yes thank you",
    "ok great",
    "yeh",
    "yas",
    "indeed",
    "right",
    "exactly",
    "yes it is",
    "yes there is",
    "yes i am",
    "i do",
    "that's the one",
    "agreed",
    "perfect",
    "yes, that's correct",
    "uh huh",
    "ok do it",
    "yea",
    "yeah that's it",
    "mhm",
    "affirmative",
    "ie",
    "oes",
    "yes formally please",
    "yes log it",
    "yes someone is at risk",
]
DENY = [
    "no",
    "nope",
    "nah",
    "no thanks",
    "no thank you",
    "n",
    "not really",
    "no that's wrong",
    "that's not right",
    "incorrect",
    "no it isn't",
    "no it's not",
    "never",
    "don't",
    "please don't",
    "no need",
    "not at the moment",
    "not now",
    "no that's all",
    "no, nothing else",
    "nothing else",
    "i don't think so",
    "no way",
    "na",
    "nope, all good",
    "no, it's fine",
    "not at all",
    "no one is at risk",
    "nobody at risk",
    "no there isn't",
    "no i'm not",
    "not that one",
    "wrong",
    "no thats it",
    "nah im good",
    "no ta",
    "na thanks",
    "nay",
    "nope not me",
    "not yet",
    "no, not formally",
    "don't log it as a complaint",
    "na dim diolch",
    "dim",
]
ASK_HUMAN = [
    "can I speak to a person",
    "I want to talk to a human",
    "put me through to someone",
    "can I speak to a real person please",
    "is there someone I can talk to",
    "I don't want a bot",
    "transfer me to an agent",
    "let me speak to your manager",
    "can someone call me back",
    "speak to advisor",
    "human please",
    "agent",
    "real person",
    "I need to speak to my housing officer",
    "can I talk to the repairs team directly",
    "are you a robot",
    "stop with the automated replies and get me a person",
    "i need to speak to someone urgently",
    "can a member of staff ring me on {phone}",
    "please get someone to phone me",
    "how do I speak to an actual person",
    "connect me with customer services",
    "live chat with a person please",
    "operator",
    "i'd rather talk to someone",
    "can i have a call back",
    "ring me please",
    "is anyone actually reading these",
    "want to talk to a real human being",
    "can you get the manager to call me",
    "speak to someone",
    "representative",
    "pass me to a real person",
    "i need a human not a computer",
    "talk to staff",
    "this bot is useless, get me a person",
    "can my support worker speak to someone",
    "phone me back",
    "I'd like someone to visit me to talk it through",
    "who can I actually talk to about this",
]
OUT_OF_SCOPE = [
    "what's the weather like tomorrow",
    "tell me a joke",
    "can you order me a pizza",
    "what's the football score",
    "who won the match last night",
    "what is the meaning of life",
    "do you like cats",
    "what's 2 plus 2",
    "can you recommend a good film",
    "what's the capital of France",
    "how old are you",
    "are you single",
    "what time is it in New York",
    "sing me a song",
    "write me a poem",
    "how do I make a cake",
    "book me a taxi",
    "what's on telly tonight",
    "buy bitcoin",
    "you have won a prize click here",
    "asdfghjkl",
    "test",
    "testing 123",
    "lol",
    "?",
    "blah blah",
    "where can I buy cheap trainers",
    "what's the best phone to buy",
    "can you help with my homework",
    "how do I get to the train station",
    "is Tesco open on Sunday",
    "what's the lottery numbers",
    "who is the prime minister",
    "translate hello into Spanish",
    "what day is it",
    "I like trains",
    "how tall is the eiffel tower",
    "recommend a restaurant near me",
    "what's the best way to lose weight",
    "can you play music",
    "are you chatgpt",
    "do you dream",
    "knock knock",
    "my cat is called Biscuit",
    "I need a plumber for my mum's private house, not one of yours",
    "can you fix my car",
    "how do I renew my passport",
    "hot singles in your area",
    "what's the wifi password at the library",
    "will it rain on saturday",
    "who are you",
    "random question but what's your favourite colour",
    "i'm bored",
    "hahaha",
    "ok google",
    "call my mum",
    "how many miles to London",
    "tell me about dinosaurs",
    "can you get me a loan",
    "what's a good name for a dog",
    "my phone screen is cracked, can you fix it",
]

# Long, rambling, several-problems-in-one and other hand-written messages.
HAND: list[tuple[str, str, str]] = [
    # (intent, urgency, text)
    (
        "report_repair",
        R,
        "Hi, hope you're well. I've been meaning to get in touch for a while. The back door in "
        "the [kitchen](room) is sticking at the bottom so you have to give it a real shove, and "
        "also the tap in the [bathroom](room) has started dripping. Neither is an emergency but "
        "it'd be good to get them looked at. I'm in most days after 2. Thanks, Linda",
    ),
    (
        "report_repair",
        U,
        "hello i live at [CF10 1EP](postcode) flat 12 the boiler has been making a banging noise "
        "for a week and now the hot water only works sometimes. also the shower is leaking a bit "
        "onto the floor. please can someone come. my number is [07700 900123](phone_number)",
    ),
    (
        "report_repair",
        E,
        "Sorry to message so late. Water is pouring through my [kitchen](room) ceiling from the "
        "flat above, I've knocked but nobody is in. It's going all over the floor and near the "
        "fridge plug. I don't know where the stopcock is for their flat. Please help",
    ),
    ("report_repair", E, "gas smell outside by meter box strong"),
    ("report_repair", E, "smel gas kitchn pls help"),
    ("report_repair", E, "can smel gass in the flat"),
    ("report_repair", E, "stinks of gas on the landing"),
    ("report_repair", E, "whiff of gas when i turn the hob on"),
    ("report_repair", E, "c0 alarm going off"),
    ("report_repair", E, "carbon monoxcide alarm beeping what do i do"),
    ("report_repair", E, "co detector going off in [bedroom](room)"),
    ("report_repair", E, "flooded bathroom water everywhere cant stop it"),
    ("report_repair", E, "pipe burst under sink water everywhere"),
    ("report_repair", E, "cant turn the water off, stopcock is stuck and its going everywhere"),
    ("report_repair", E, "no lecky in the whole flat"),
    ("report_repair", E, "no electrics since [last night](date), freezer defrosting"),
    ("report_repair", E, "all the power's gone off and the trip switch won't reset"),
    ("report_repair", E, "no water in the flat since [this morning](date)"),
    ("report_repair", E, "sewage coming up in the bath"),
    ("report_repair", E, "toilet backing up with poo water into the bath, disgusting"),
    ("report_repair", E, "raw sewage in the back garden from the drain"),
    ("report_repair", E, "we only have one toilet and its blocked"),
    ("report_repair", E, "only loo is broken and wont flush, 4 kids in the house"),
    ("report_repair", E, "someone broke in last night and smashed the lock, can't secure the door"),
    ("report_repair", E, "burgled, back door kicked in, can't shut it"),
    ("report_repair", E, "front door wont lock after the police forced it"),
    ("report_repair", E, "ceiling in the [bathroom](room) has fallen in"),
    ("report_repair", E, "big crack and the ceiling is sagging badly over the bed"),
    ("report_repair", E, "roof blown off the shed and tiles blown off the house in the storm"),
    ("report_repair", E, "tree fell on the house in the wind, window smashed"),
    ("report_repair", E, "lift not working and I'm in a wheelchair on the 8th floor, cant get out"),
    ("report_repair", E, "my dad is trapped in the lift"),
    ("report_repair", E, "socket sparking and smoking in the [living room](room)"),
    ("report_repair", E, "light switch buzzing and hot to touch, smell of burning"),
    ("report_repair", E, "bare wires sticking out where the light was"),
    ("report_repair", E, "got an electric shock off the cooker switch"),
    ("report_repair", E, "water leaking from the ceiling onto the fuse box"),
    ("report_repair", E, "rain coming in around the light fitting in the [hallway](room)"),
    ("report_repair", E, "there's a fire in the bin store"),
    ("report_repair", E, "flat next door is on fire, smoke coming into ours"),
    ("report_repair", E, "boiler not working, it's freezing and I have a newborn"),
    ("report_repair", E, "no heat, my mum is 91 and its really cold"),
    ("report_repair", E, "no hot water or heating and I have a 3 month old, its snowing"),
    ("report_repair", U, "no heating since [saturday](date)"),
    ("report_repair", U, "boilers not working again"),
    ("report_repair", U, "boiler bust no hot water"),
    ("report_repair", U, "hot water not working, heating is ok"),
    ("report_repair", R, "tap dripping"),
    ("report_repair", R, "need a new toilet seat"),
    ("report_repair", R, "repair"),
    ("report_repair", R, "i need to report a repair"),
    ("report_repair", R, "I want to report a repair please"),
    ("report_repair", R, "something needs fixing in my flat"),
    ("report_repair", R, "can I book a repair"),
    ("report_repair", R, "repair request for flat 7"),
    ("report_repair", R, "the kitchen tap is leaking"),
    ("report_repair", U, "the kitchen tap is leaking quite badly now, I've got a tub under it"),
    (
        "report_repair",
        R,
        "Morning, the [bedroom](room) window handle has come off in my hand and the "
        "[bathroom](room) fan is making a horrible rattling noise. not urgent but if someone "
        "could do both at once that'd be great",
    ),
    (
        "report_repair",
        U,
        "Hi can someone look at my front door its dropped and I have to lift it to lock it, "
        "I'm worried one day I won't manage",
    ),
    (
        "report_repair",
        R,
        "Hiya just a few bits - curtain pole came down, the grouting in the shower is going "
        "black (not mould just grout) and a couple of cupboard hinges are loose",
    ),
    ("damp_mould", U, "damp"),
    ("damp_mould", U, "mould"),
    ("damp_mould", U, "i have mould"),
    ("damp_mould", U, "I want to report damp and mould"),
    ("damp_mould", U, "mouldy walls"),
    ("damp_mould", U, "black mold in bathroom"),
    ("damp_mould", U, "there is damp in my flat"),
    ("damp_mould", R, "what can I do to stop condensation on my windows"),
    ("damp_mould", R, "do you give out dehumidifiers"),
    (
        "damp_mould",
        R,
        "a little bit of mould on the window seal, I can wipe it but wanted it noted",
    ),
    (
        "damp_mould",
        E,
        "Dear Sir/Madam, I am writing again regarding the damp in my property. The black mould "
        "in the children's bedroom has spread across the whole wall and my youngest, who is 2, "
        "has been prescribed an inhaler by the GP. I need this treated urgently.",
    ),
    (
        "damp_mould",
        U,
        "Hello, the wall behind my sofa is wet to touch and there's a musty smell. I moved the "
        "sofa and the wallpaper is black. I keep the windows open but it's not helping",
    ),
    (
        "make_complaint",
        U,
        "This is the third time I've reported the leak under my sink. Your plumber came twice "
        "and said it was fixed, it isn't. I now have a bucket under it permanently. I'm not "
        "paying rent for this.",
    ),
    (
        "make_complaint",
        E,
        "third time im reporting the gas smell, nobody has come out, are you waiting for an "
        "explosion",
    ),
    (
        "make_complaint",
        E,
        "still no heating after 2 weeks and my baby is freezing, nobody called back",
    ),
    ("make_complaint", E, "I reported the sparking socket a week ago and nobody came, disgraceful"),
    (
        "make_complaint",
        U,
        "still not fixed after 6 weeks and nobody called back",
    ),
    (
        "make_complaint",
        R,
        "To whom it may concern. I am writing to express my total frustration with your repairs "
        "service. On [3rd march](date) I reported a broken window latch. An appointment was "
        "made and nobody came. I rang again and was told it had been cancelled. A new "
        "appointment was made and again nobody came. I have now taken three days off work. I "
        "expect an apology and compensation for my lost wages.",
    ),
    (
        "make_complaint",
        R,
        "Really angry. Third week running the bins haven't been emptied and the caretaker just "
        "shrugs. We pay a service charge for this!!",
    ),
    ("make_complaint", R, "I want to complain"),
    ("make_complaint", R, "complaint"),
    ("make_complaint", R, "how do i make a complaint"),
    ("make_complaint", R, "I'd like to make a formal complaint"),
    ("make_complaint", R, "i want to complain, nobody came to fix my boiler three times"),
    ("make_complaint", R, "not happy at all with the service"),
    ("make_complaint", R, "i want to escalate my complaint"),
    ("make_complaint", R, "stage 2 please"),
    ("report_asb", R, "antisocial behaviour"),
    ("report_asb", R, "i want to report asb"),
    ("report_asb", R, "noisy neighbours"),
    ("report_asb", R, "report a neighbour"),
    ("report_asb", R, "I want to report anti social behaviour"),
    ("report_asb", R, "my neighbour is a nightmare"),
    (
        "report_asb",
        R,
        "Every weekend without fail the couple in flat 9 have people round until 5am, music, "
        "screaming, bottles thrown off the balcony. I work early on Saturdays and I'm getting no "
        "sleep. I've asked them nicely twice. I have recordings on my phone.",
    ),
    (
        "report_asb",
        U,
        "I don't know who else to tell. The man across the landing keeps banging on my door "
        "late at night calling me names. I'm a woman on my own and I'm frightened. It's been "
        "going on since [last week](date)",
    ),
    (
        "general_enquiry",
        R,
        "just a heads up, there's a car with no tax parked in the visitor bays for weeks now",
    ),
    ("general_enquiry", R, "people from the houses opposite park in our car park"),
    (
        "general_enquiry",
        R,
        "my neighbour had a bbq on sunday and the smoke came in, it's fine just annoyed",
    ),
    (
        "general_enquiry",
        R,
        "there was a party upstairs last night, first time ever, they apologised this morning so "
        "no action needed, just for your records",
    ),
    ("general_enquiry", R, "info"),
    ("general_enquiry", R, "I have a question"),
    ("general_enquiry", R, "can you help me with something"),
    ("general_enquiry", R, "quick question about my flat"),
    ("general_enquiry", R, "I need some information please"),
    ("general_enquiry", R, "Hi I've got a query"),
    ("general_enquiry", R, "got a question about my account"),
    # Other languages: the classifier does what it can; language detection flags them.
    ("report_repair", U, "Mae'r boeler wedi torri a does dim dŵr poeth yn y tŷ"),
    ("report_repair", R, "Mae'r tap yn y gegin yn gollwng ers wythnos"),
    ("report_repair", E, "Dw i'n gallu arogli nwy yn y gegin, arogl nwy cryf iawn"),
    ("damp_mould", U, "Mae llwydni du ar wal yr ystafell wely"),
    ("report_asb", R, "Mae fy nghymydog yn chwarae cerddoriaeth uchel bob nos"),
    ("general_enquiry", R, "Helo, beth yw eich oriau agor os gwelwch yn dda"),
    ("make_complaint", R, "Rwyf am wneud cwyn am y gwasanaeth atgyweirio, does neb wedi dod"),
    ("rent_payment", R, "Sut ydw i'n talu fy rhent ar-lein"),
    ("report_repair", U, "Dzień dobry, nie mam ciepłej wody od trzech dni, proszę o pomoc"),
    ("report_repair", E, "Czuję gaz w kuchni, proszę szybko"),
    ("report_repair", U, "Bună ziua, nu am apă caldă de trei zile și centrala nu pornește"),
    ("report_repair", U, "Hola, la calefacción no funciona desde el lunes"),
    ("report_repair", U, "Olá, o esquentador avariou e não temos água quente"),
    ("report_repair", U, "Bonjour, je n'ai plus de chauffage depuis hier"),
    ("report_repair", U, "السلام عليكم، السخان لا يعمل ولا يوجد ماء ساخن في الشقة"),
    ("report_repair", U, "میرے گھر میں ہیٹنگ کام نہیں کر رہی، براہ کرم مدد کریں"),
    ("report_repair", U, "Biyaha kulul ma shaqeynayo saddex maalmood, fadlan i caawi"),
    ("report_asb", R, "Sąsiad puszcza głośno muzykę każdej nocy do trzeciej rano"),
    ("rent_payment", R, "Jak mogę zapłacić czynsz przez internet?"),
    ("general_enquiry", R, "Merhaba, ofisiniz cumartesi günleri açık mı?"),
]

# ---- more hand-written messages -----------------------------------------------------------
# Short, direct requests: residents often open with one or two words, and a model that has
# only seen long templated messages files "I want to complain" under general.
SHORT: dict[str, list[tuple[str, str]]] = {
    "report_repair": [
        ("I need a repair", R),
        ("need something fixed", R),
        ("can I report a repair", R),
        ("repairs", R),
        ("report repair", R),
        ("repair please", R),
        ("I'd like to book a repair", R),
        ("broken window", R),
        ("window wont shut", R),
        ("door broken", R),
        ("my boiler", U),
        ("boiler broken", U),
        ("boiler not working", U),
        ("heating not working", U),
        ("no hot water", U),
        ("leak", U),
        ("I have a leak", U),
        ("leaking pipe under the sink", U),
        ("toilet blocked", U),
        ("sink blocked", U),
        ("shower broken", U),
        ("fence blown down", R),
        ("gutter hanging off", R),
        ("light not working in the hall", R),
        ("fix my door please", R),
        ("when are you coming to fix my window", R),
        ("can someone fix the tap", R),
        ("need a plumber", R),
        ("need an electrician to look at a socket", R),
        ("need a joiner", R),
        ("can you send someone to fix my sink", R),
        ("oven not working", R),
        ("kitchen unit broken", R),
        ("stair rail loose", R),
        ("damaged floorboard in the bedroom", R),
        ("hole in the wall", R),
        ("the extractor is broken", R),
        ("radiator leaking", U),
        ("lock broken", U),
        ("bath panel cracked", R),
    ],
    "damp_mould": [
        ("damp and mould", U),
        ("mould in bedroom", U),
        ("black mould", U),
        ("condensation", U),
        ("condensation problem", U),
        ("mould on the walls", U),
        ("damp walls", U),
        ("mouldy bathroom", U),
        ("damp problem", U),
        ("report mould", U),
        ("the mould is back again", U),
        ("damp smell in the flat", U),
        ("mould in the kids room", U),
        ("mould on the ceiling", U),
        ("windows streaming with condensation", U),
        ("there's mould growing on my sofa", U),
    ],
    "make_complaint": [
        ("I want to make a complaint", R),
        ("make a complaint", R),
        ("I'd like to complain", R),
        ("formal complaint please", R),
        ("complain", R),
        ("can I complain", R),
        ("how do I complain", R),
        ("where do I send a complaint", R),
        ("I wish to make a complaint", R),
        ("I want to raise a complaint", R),
        ("log a complaint", R),
        ("stage 1 complaint", R),
        ("escalate please", R),
        ("unhappy with the service", R),
        ("very unhappy", R),
        ("disgusted", R),
        ("this is ridiculous", R),
        ("useless", R),
        ("nobody came", R),
        ("no one turned up", R),
        ("still waiting", R),
        ("still not fixed", R),
        ("no reply to my email", R),
        ("why has nobody called me back", R),
        ("your service is terrible", R),
        ("I'm fed up", R),
        ("sick of waiting", R),
        ("worst landlord ever", R),
        ("you lot are a joke", R),
        ("I'm going to the ombudsman", R),
        ("I'll be contacting my MP", R),
        ("I want compensation", R),
        ("I want my complaint looked at again", R),
        ("complaint about the repairs service", R),
        ("complaint about a member of staff", R),
    ],
    "report_asb": [
        ("asb", R),
        ("anti social behaviour", R),
        ("antisocial neighbours", R),
        ("noise", R),
        ("noise nuisance", R),
        ("loud music", R),
        ("neighbour noise", R),
        ("neighbours from hell", R),
        ("drugs", R),
        ("drug dealing", R),
        ("dog barking all day", R),
        ("dog mess", R),
        ("graffiti", R),
        ("fly tipping", R),
        ("vandalism", R),
        ("kids causing trouble", R),
        ("youths causing trouble", R),
        ("neighbour dispute", R),
        ("noise complaint", R),
        ("complaint about my neighbour", R),
        ("I want to complain about my neighbour's dog", R),
        ("report my neighbour", R),
        ("problem with my neighbour", R),
        ("neighbour issues", R),
        ("nuisance neighbours", R),
        ("people smoking weed in the stairwell", R),
        ("loud party every weekend", R),
        ("harassment", U),
        ("being harassed", U),
        ("racist neighbour", U),
    ],
    "general_enquiry": [
        ("question", R),
        ("query", R),
        ("enquiry", R),
        ("general enquiry", R),
        ("I have a query about my tenancy", R),
        ("opening times", R),
        ("office hours", R),
        ("bins", R),
        ("parking", R),
        ("parking problem", R),
        ("parking permit", R),
        ("key fob", R),
        ("I need some advice", R),
        ("can you help", R),
    ],
    "change_appointment": [
        ("change appointment", R),
        ("rearrange", R),
        ("reschedule please", R),
        ("different day", R),
        ("new appointment time", R),
        ("can't make tuesday", R),
        ("move my appointment", R),
        ("another date please", R),
    ],
    "cancel_appointment": [
        ("cancel", R),
        ("cancel appointment", R),
        ("cancel the repair", R),
        ("dont need it now", R),
        ("cancel my booking", R),
        ("please cancel it", R),
    ],
}

SHORT_FRAMES = [
    "hi {x}",
    "{x} please",
    "{x}!!",
    "hiya, {x}",
    "{x} - can you help",
    "hello. {x}",
    "{x} again",
    "morning, {x}",
    "{x}?",
    "{x}, thanks",
    "ok so {x}",
    "{x} at my flat",
]
MORE_HAND: list[tuple[str, str, str]] = [
    # Angry, never saying "complaint": a complaint under the Code all the same.
    ("make_complaint", R, "Absolute joke. Waited in from 8 till 6 and not even a text."),
    ("make_complaint", R, "how hard is it to ring someone back? 3 days ive been waiting"),
    ("make_complaint", R, "your so called engineer was here 5 mins and left, didnt even look"),
    ("make_complaint", R, "been promised a new kitchen for 2 years. lies after lies"),
    ("make_complaint", R, "every time I ring I get a different story, nobody knows anything"),
    ("make_complaint", R, "I've been passed round five departments today and I'm no further on"),
    ("make_complaint", R, "shocking. the contractor left rubble in my garden for a month"),
    ("make_complaint", R, "why do I pay rent when nothing ever gets done"),
    ("make_complaint", R, "you closed my job without asking me and it's not fixed!!!"),
    ("make_complaint", R, "the officer laughed at me when I told her about the damp"),
    ("make_complaint", R, "I've emailed 3 times, phoned twice and still nothing. pathetic"),
    ("make_complaint", R, "treated like dirt by your staff on the phone today"),
    ("make_complaint", R, "you said someone would call within 48 hours. that was last month"),
    ("make_complaint", R, "the workmen broke my gate and nobody wants to know"),
    ("make_complaint", R, "fed up of being fobbed off, I want a manager to ring me today"),
    ("make_complaint", R, "not good enough. my disabled son has had no working shower for 6 weeks"),
    ("make_complaint", R, "Sort it out. I'm not ringing again."),
    ("make_complaint", R, "the repairs line hung up on me twice, is this how you treat people"),
    (
        "make_complaint",
        U,
        "third time I've reported this leak, it's getting worse and nobody cares",
    ),
    (
        "make_complaint",
        U,
        "I reported the leak in [march](date), then again in april, still dripping",
    ),
    (
        "make_complaint",
        U,
        "same leak, same ceiling, 4th time reporting it. your plumber keeps patching it",
    ),
    (
        "make_complaint",
        U,
        "you fixed the leak 3 times and it's back again, I want it done properly",
    ),
    ("make_complaint", U, "this leak has been reported over and over since [last year](date)"),
    ("make_complaint", R, "I reported the broken fence months ago and heard nothing since"),
    ("make_complaint", R, "the mould was painted over and came straight back, waste of time"),
    # Not ASB: parking, a one-off party, ordinary living noise.
    ("general_enquiry", R, "someone parked in my space again, whose job is it to sort parking"),
    ("general_enquiry", R, "a car has been left on the estate with flat tyres for weeks"),
    (
        "general_enquiry",
        R,
        "visitors keep parking on the pavement outside, can we get lines painted",
    ),
    (
        "general_enquiry",
        R,
        "my neighbour parks his van over my drive, is that anything you can help with",
    ),
    ("general_enquiry", R, "who do I ask about parking enforcement on the estate"),
    ("general_enquiry", R, "next door had a christening party saturday, loud but fine, only once"),
    (
        "general_enquiry",
        R,
        "the flat upstairs had a leaving do last night, was noisy till 12 but it's a one off",
    ),
    ("general_enquiry", R, "one-off party next door for their son's 18th, just so you know"),
    (
        "general_enquiry",
        R,
        "I can hear my neighbour walking about upstairs, is that normal in these flats",
    ),
    (
        "general_enquiry",
        R,
        "can hear the neighbours' toilet flush through the wall, is there any soundproofing",
    ),
    (
        "general_enquiry",
        R,
        "the baby next door cries at night, I know it's not their fault, any tips",
    ),
    ("general_enquiry", R, "kids playing football on the green in the day, are they allowed to"),
    # Several problems in one message: the most urgent one decides.
    (
        "report_repair",
        U,
        "boiler keeps losing pressure, the bathroom tap drips and the back gate wont shut. "
        "the boiler is the main thing",
    ),
    (
        "report_repair",
        R,
        "few things: kitchen drawer broken, hall light flickers, and the loft hatch is stuck. "
        "none urgent",
    ),
    (
        "report_repair",
        E,
        "the toilet wont flush and its our only one, the shower is leaking and the bedroom "
        "window is cracked",
    ),
    (
        "report_repair",
        U,
        "leak under the sink again and the kitchen light has stopped working and theres a "
        "crack in the wall",
    ),
    (
        "report_repair",
        E,
        "water coming through the ceiling onto the light in the hall, also the front door "
        "sticks and the fence is down",
    ),
    (
        "report_asb",
        U,
        "the man in flat 3 keeps threatening me, he also leaves rubbish on the landing and his "
        "dog barks all night",
    ),
    (
        "make_complaint",
        R,
        "nobody came for the appointment, the boiler is still playing up, and when I rang I "
        "was told there's no record of my call",
    ),
    # Season, weather and vulnerability change a repair's urgency.
    ("report_repair", R, "the heating isn't working but it's summer so no rush, whenever you can"),
    ("report_repair", R, "radiator in the spare room cold, not urgent as the weather's warm"),
    ("report_repair", U, "no hot water, we can boil the kettle for now"),
    ("report_repair", E, "no heating and it's below freezing tonight"),
    ("report_repair", E, "boiler died, snowing outside and I have a newborn"),
    ("report_repair", E, "heating off, I'm 87 and on my own and it's really cold"),
    ("report_repair", E, "no heating or hot water, I'm pregnant and it's freezing"),
    ("report_repair", E, "boiler broken, my son is disabled and feels the cold badly, it's winter"),
    (
        "report_repair",
        U,
        "front door lock is stiff, I'm 85 and live alone and worry I can't get in",
    ),
    ("report_repair", U, "leak under the sink, I'm disabled and can't empty the bucket myself"),
    (
        "report_repair",
        U,
        "the bath tap won't turn off, I use a wheelchair and can't reach the stopcock",
    ),
    ("report_repair", U, "the stair lift has stopped working and I can't get upstairs"),
    ("report_repair", U, "window wont close and it's been raining in all night"),
    ("report_repair", U, "roof leaking again with all this rain, buckets in the bedroom"),
    ("report_repair", R, "small drip from the outside tap, not urgent"),
    ("report_repair", U, "grab rail came off the wall, I'm elderly and need it to use the toilet"),
    # Rambling emails.
    (
        "report_repair",
        U,
        "Good morning. I hope this finds you well. I'm writing about a few things in my flat "
        "which I've been putting off. Firstly the boiler, which has been making a knocking sound "
        "since [the weekend](date) and the hot water goes cold halfway through a shower. "
        "Secondly, the seal around the bath has come away. I work shifts so mornings are best. "
        "Kind regards, Gareth",
    ),
    (
        "damp_mould",
        U,
        "Hi there. So we moved in last spring and it was fine but since the weather turned "
        "there's been black mould coming up behind the bed in the [back bedroom](room) and on the "
        "window frames. I wipe it every week with the spray from the shop but it just comes "
        "back. We open the windows and don't dry clothes inside. Can someone come and look?",
    ),
    (
        "report_asb",
        R,
        "Dear Housing Officer, I have lived here for eleven years without any trouble but since "
        "the new tenants moved in above me in the summer there has been music most nights, "
        "often until two or three in the morning, and heavy banging. I have spoken to them "
        "politely twice. I am now losing sleep and it's affecting my work. I have kept a log "
        "of dates and times which I can send you.",
    ),
    (
        "make_complaint",
        R,
        "To whom it may concern, I am extremely disappointed. In [january](date) I reported a "
        "broken extractor fan. Since then I've had two appointments cancelled on the day, one "
        "engineer who said he had the wrong part, and a phone call promising a manager would "
        "ring me, which never happened. I'd like to know what you intend to do to put this "
        "right.",
    ),
    (
        "general_enquiry",
        R,
        "Hello, I'm not sure who to ask about this. My daughter is starting college in "
        "September and I wondered whether that changes anything with my tenancy or my rent, "
        "and also whether there is any help with bus passes for students. Thanks for any "
        "advice, Aisha",
    ),
    (
        "rent_payment",
        R,
        "Hi, I've just started a new job and I'm paid monthly now rather than weekly so I wanted "
        "to ask if I can change my rent payments to match, and also my universal credit will "
        "stop so I need to know how much I'll have to pay myself",
    ),
    # Other languages (ACCESS): flagged by language detection; the model does its best.
    ("report_repair", U, "Does dim gwres yn y tŷ ers dydd Llun"),
    ("report_repair", R, "Mae'r ffenest yn yr ystafell fyw wedi torri"),
    ("report_repair", U, "Mae'r toiled wedi blocio, oes modd anfon rhywun"),
    ("report_repair", E, "Mae dŵr yn dod trwy'r nenfwd ar y golau, helpwch"),
    ("damp_mould", U, "Mae lleithder a llwydni yn y gegin a'r ystafell ymolchi"),
    ("report_asb", R, "Mae'r cymdogion yn swnllyd iawn bob penwythnos"),
    ("report_asb", U, "Mae fy nghymydog yn fy mygwth i a fy mhlant"),
    ("make_complaint", R, "Dw i ddim yn hapus o gwbl, does neb wedi ffonio fi yn ôl"),
    ("general_enquiry", R, "Pryd mae'r biniau'n cael eu casglu?"),
    ("rent_payment", R, "Alla i dalu'r rhent gyda cherdyn?"),
    ("change_appointment", R, "Alla i newid fy apwyntiad i ddydd Gwener?"),
    ("report_repair", U, "Nie działa ogrzewanie w mieszkaniu, proszę o naprawę"),
    ("report_repair", R, "Kran w łazience cieknie od tygodnia"),
    ("damp_mould", U, "W sypialni jest wilgoć i czarna pleśń na ścianie"),
    ("report_asb", R, "Sąsiedzi z góry hałasują codziennie w nocy"),
    ("make_complaint", R, "Jestem bardzo niezadowolony, nikt nie przyszedł naprawić okna"),
    ("rent_payment", R, "Czy mogę płacić czynsz co dwa tygodnie?"),
    ("report_repair", R, "Geamul din dormitor nu se închide"),
    ("damp_mould", U, "Avem mucegai pe pereți în baie și în dormitor"),
    ("report_asb", R, "Vecinii ascultă muzică tare în fiecare noapte"),
    ("report_repair", U, "La caldera no funciona y no tenemos agua caliente"),
    ("damp_mould", U, "Hay moho negro en la pared del dormitorio"),
    ("report_asb", R, "Mis vecinos ponen música muy alta todas las noches"),
    ("make_complaint", R, "Estoy muy descontento, nadie vino a la cita"),
    ("report_repair", U, "La chaudière est en panne, nous n'avons pas d'eau chaude"),
    ("damp_mould", U, "Il y a de la moisissure dans la chambre des enfants"),
    ("report_repair", U, "A caldeira não funciona e não temos aquecimento"),
    ("report_repair", U, "Kombi çalışmıyor, sıcak su yok, lütfen yardım edin"),
    ("report_repair", U, "Katilas neveikia, nėra karšto vandens"),
    ("report_repair", U, "হিটিং কাজ করছে না, দয়া করে সাহায্য করুন"),
    ("report_repair", U, "ਮੇਰੇ ਘਰ ਵਿੱਚ ਹੀਟਿੰਗ ਕੰਮ ਨਹੀਂ ਕਰ ਰਹੀ"),
    ("report_repair", U, "Не працює опалення в квартирі, допоможіть будь ласка"),
    ("report_repair", U, "У меня в квартире не работает отопление"),
    ("report_asb", R, "جيراني يشغلون الموسيقى بصوت عال كل ليلة"),
    ("report_asb", R, "Deriskayga ayaa sawaxan badan sameeya habeen kasta"),
]


# Long emails, as residents send them: greetings, background, several points, sign-off.
LONG_EMAILS: list[tuple[str, str, str]] = [
    (
        "report_repair",
        E,
        "Hello, sorry for the long email but I didn't know who else to contact. Since last "
        "night there has been a funny smell in the hallway and my daughter said it smells like "
        "gas near the boiler cupboard. I have opened the windows and we haven't used the "
        "cooker. I rang the number on the letter but it just rang out. Please can someone "
        "call me back as soon as possible. Thank you, Sharon",
    ),
    (
        "report_repair",
        R,
        "Dear Repairs Team, I hope you are all well. I'm writing to report a couple of small "
        "jobs that have built up. The kitchen cupboard above the kettle has a hinge that has "
        "pulled out of the door, the bathroom light cord has snapped so we're using a torch "
        "in there at night, and the back gate has dropped so it doesn't latch. None of these "
        "are urgent and I'm flexible with times, I work from home on Mondays and Fridays. "
        "Many thanks, Linda",
    ),
    (
        "report_repair",
        U,
        "Hi, I'm emailing because I've tried ringing twice and couldn't get through. Our "
        "boiler has been playing up for about a week: it works in the morning, then the "
        "pressure drops and by the evening there's no hot water. I've topped it up like the "
        "booklet says but it keeps happening. We have two young children so we really need "
        "it looked at this week if possible. My number is [07911123456](phone_number). "
        "Thanks, Tomasz",
    ),
    (
        "report_repair",
        E,
        "Good evening. I'm writing from my phone so sorry for any mistakes. The flat above has "
        "had a leak for a few days and I thought it was just a drip, but tonight water is "
        "coming through the light fitting in the [bathroom](room) and the bulb has blown. "
        "I've switched off the lights at the fuse box. I'm on my own with my son. Please "
        "tell me what to do, I'm really worried. Precious",
    ),
    (
        "report_repair",
        U,
        "Hiya, so I moved in about a month ago and there's a few things that weren't done "
        "before I got the keys. The bathroom window doesn't shut properly so it's freezing "
        "in there, the extractor fan doesn't come on, and there's a leak under the kitchen "
        "sink that I've put a tub under. Also the smoke alarm in the hall keeps chirping. "
        "I've got photos if you need them. Cheers, Mo",
    ),
    (
        "damp_mould",
        E,
        "To whom it may concern, I am writing for the third time about the damp and mould in "
        "my son's bedroom. He is four and has asthma, and since the mould came back in "
        "October he has been to the GP twice and to A&E once with his breathing. I have "
        "a letter from the doctor saying the housing conditions are affecting his health. "
        "I have been told someone would inspect but nobody has come. Please treat this as "
        "urgent.",
    ),
    (
        "damp_mould",
        U,
        "Hello, I'm contacting you about condensation and mould. Every morning the windows "
        "are dripping wet and the sills have gone black, and now there are black spots "
        "spreading on the ceiling in the [bedroom](room) and behind the wardrobe. I heat the "
        "flat, open the windows and use the extractor but it's not enough. I read about "
        "Awaab's Law and I'd like someone to inspect it please. Thanks, Aisha",
    ),
    (
        "report_asb",
        U,
        "I'm really sorry to bother you with this but I don't know where else to turn. For "
        "the last few weeks a group of men have been coming and going from the flat next "
        "door at all hours. The man who lives there is in his seventies and quite frail, and "
        "I haven't seen him out for a while. I think they might be using his flat for drugs. "
        "I'm scared to say anything to them. Please can someone check on him.",
    ),
    (
        "report_asb",
        R,
        "Hello, I want to report ongoing problems with the people at flat 12 on the second "
        "floor. Their dog barks constantly when they go out, sometimes for six "
        "or seven hours, and they leave bags of rubbish on the landing which attract foxes. "
        "I've left a polite note and spoken to them once but nothing has changed. I have "
        "recorded the barking on my phone and can send the videos.",
    ),
    (
        "report_asb",
        U,
        "Dear Sir or Madam, over the past month my family has been targeted by a neighbour "
        "because we are Muslim. She has shouted abuse at my wife about her hijab, put "
        "rubbish through our letterbox and told my children they don't belong here. We have "
        "reported it to the police and have a crime number. We would like to know what you "
        "can do as our landlord. Yours faithfully, Mr Khan",
    ),
    (
        "make_complaint",
        R,
        "I'm writing because I'm at the end of my tether. Back in the spring I reported that "
        "the bathroom extractor had stopped working. An electrician came in May, said he "
        "needed a part and would be back. Nobody came. I rang in June and was told the job "
        "had been closed. A new job was raised and again nobody came. It is now September. "
        "I would like an explanation and I would like the job done.",
    ),
    (
        "make_complaint",
        U,
        "Hello. This is the fourth time I have had to report the leak from the roof into my "
        "back bedroom. Each time a roofer comes, goes up a ladder for ten minutes and says "
        "it's fixed, and the next time it rains the ceiling is wet again. The plaster is now "
        "stained and starting to bulge. I want someone senior to look at this properly and "
        "I want to know why it keeps being signed off.",
    ),
    (
        "make_complaint",
        R,
        "Dear Housing Manager, I wish to raise my concerns about the way my transfer "
        "application has been dealt with. I provided all the medical evidence asked for in "
        "[january](date) and have heard nothing since, despite emailing four times. When I "
        "finally got through on the phone the officer was dismissive and said she couldn't "
        "see my documents. I feel ignored and would like a response in writing.",
    ),
    (
        "general_enquiry",
        R,
        "Hello there, I hope you can help. My mum is 82 and lives in one of your bungalows. "
        "She is finding the bath difficult now and her occupational therapist suggested a "
        "walk-in shower. Could you tell me how we go about applying for an adaptation, how "
        "long it usually takes, and whether she needs to be at home for an assessment? Many "
        "thanks for your time, Gareth",
    ),
    (
        "tenancy_change",
        R,
        "Hi, I'm writing because my partner and I have split up and he moved out last month. "
        "The tenancy is in both our names and I'd like to know what I need to do to have it "
        "in my name only. He's agreed to it. Do we both have to sign something, and will my "
        "rent or anything else change? I have two children living with me. Thanks, Sharon",
    ),
    (
        "rent_payment",
        R,
        "Good afternoon. I received a letter saying I'm in arrears but I have been paying by "
        "standing order every month and I can see the payments on my bank statement. I think "
        "the payments may have gone to the wrong account after the reference changed. Could "
        "someone look into this and let me know? I can send my statements. Kind regards, Dave",
    ),
]


# ---- assembly ---------------------------------------------------------------------------
def frame_many(
    items: Sequence[str], frames: Sequence[str], urgency: str, rng: random.Random, times: int
) -> list[Ex]:
    out: list[Ex] = []
    for item in items:
        for frame in rng.sample(list(frames), k=min(times, len(frames))):
            text = frame.replace("{x}", item)
            out.append(Ex(messy(fill(text, rng), rng), urgency))
    return out


def simple(items: Sequence[str], urgency: str, rng: random.Random, variants: int = 1) -> list[Ex]:
    """Each hand-written item as written, plus `variants - 1` messy copies."""
    out: list[Ex] = []
    for item in items:
        out.append(Ex(fill(item, rng), urgency))
        for _ in range(variants - 1):
            out.append(Ex(messy(fill(item, rng), rng), urgency))
    return out


def complaints(rng: random.Random, count: int) -> list[Ex]:
    out: list[Ex] = []
    short = [(p.replace("{room}", "{room}"), u) for p, u in REPAIR_PROBLEMS + DAMP_PROBLEMS]
    for _ in range(count):
        phrase, urgency = rng.choice(short)
        frame = rng.choice(COMPLAINT_FRAMES)
        out.append(Ex(messy(fill(frame.replace("{p}", phrase), rng), rng), urgency))
    return out


def build(rng: random.Random) -> dict[str, list[Ex]]:
    data: dict[str, list[Ex]] = {}

    def add(intent: str, examples: list[Ex]) -> None:
        data.setdefault(intent, []).extend(examples)

    add("report_repair", repairs(rng, per_problem=5))
    add("damp_mould", damp(rng, per_problem=7))
    add("make_complaint", simple(COMPLAINT_HAND, R, rng, variants=2))
    add("make_complaint", complaints(rng, 260))
    add("report_asb", frame_many(ASB_ROUTINE, ASB_FRAMES, R, rng, 5))
    add("report_asb", frame_many(ASB_URGENT, ASB_FRAMES, U, rng, 5))
    add("report_asb", frame_many(ASB_EMERGENCY, ASB_EMERGENCY_FRAMES, E, rng, 4))
    add("general_enquiry", simple(GENERAL, R, rng, variants=4))
    add("rent_payment", simple(RENT, R, rng, variants=4))
    add("tenancy_change", simple(TENANCY, R, rng, variants=4))
    add("change_appointment", simple(CHANGE_APPT, R, rng, variants=4))
    add("cancel_appointment", simple(CANCEL_APPT, R, rng, variants=4))
    add("compliment", simple(COMPLIMENT, R, rng, variants=3))
    add("greet", simple(GREET, R, rng))
    add("goodbye", simple(GOODBYE, R, rng))
    add("thanks", simple(THANKS, R, rng))
    add("affirm", simple(AFFIRM, R, rng))
    add("deny", simple(DENY, R, rng))
    add("ask_human", simple(ASK_HUMAN, R, rng, variants=3))
    add("out_of_scope", simple(OUT_OF_SCOPE, R, rng))
    for intent, urgency, text in HAND:
        add(intent, [Ex(text, urgency)])
    for intent, items in SHORT.items():
        for text, urgency in items:  # as written, and in two of the ways residents open
            framed = [f.replace("{x}", text) for f in rng.sample(SHORT_FRAMES, k=2)]
            add(intent, [Ex(text, urgency), *(Ex(messy(t, rng), urgency) for t in framed)])
    for intent, urgency, text in [*MORE_HAND, *LONG_EMAILS]:
        add(intent, [Ex(text, urgency)])
    return data


def dedupe(data: dict[str, list[Ex]]) -> dict[str, list[Ex]]:
    """Drop repeats, within and across intents (Rasa rejects the same text under two intents)."""
    seen: set[str] = set()
    out: dict[str, list[Ex]] = {}
    # Hand-written intents first claim their texts; conversational ones are short and collide.
    for intent, examples in data.items():
        kept: list[Ex] = []
        for ex in examples:
            key = " ".join(plain(ex.text).lower().split())
            if not key or key in seen:
                continue
            seen.add(key)
            kept.append(ex)
        out[intent] = kept
    return out


def reconcile(data: dict[str, list[Ex]]) -> tuple[dict[str, list[Ex]], list[str]]:
    """Raise an example's urgency to what its hazards demand; report model-only emergencies.

    The urgency rules are policy (a gas smell is an emergency whatever else is said), so an
    example whose composed words trip an emergency rule is labelled as the policy says.
    """
    notes: list[str] = []
    out: dict[str, list[Ex]] = {}
    for intent, examples in data.items():
        fixed: list[Ex] = []
        for ex in examples:
            floor = urgency_floor(find_hazards(plain(ex.text)))
            urgency = ex.urgency
            if floor is not None and URGENCY_ORDER[floor] > URGENCY_ORDER[urgency]:
                notes.append(f"raised {urgency}->{floor} [{intent}] {plain(ex.text)}")
                urgency = floor
            elif urgency == EMERGENCY and floor != EMERGENCY:
                notes.append(f"emergency without a rule [{intent}] {plain(ex.text)}")
            fixed.append(Ex(ex.text, urgency))
        out[intent] = fixed
    return out, notes


FILES = {
    "repairs.yml": ("report_repair", "damp_mould", "change_appointment", "cancel_appointment"),
    "asb.yml": ("report_asb",),
    "complaints.yml": ("make_complaint", "compliment"),
    "general.yml": ("general_enquiry", "rent_payment", "tenancy_change", "out_of_scope"),
    "conversation.yml": ("greet", "goodbye", "thanks", "affirm", "deny", "ask_human"),
}
DEFAULT_URGENCY = {"report_repair": R, "damp_mould": U}


def render(intents: Sequence[str], data: dict[str, list[Ex]]) -> str:
    lines = [
        f"# Generated by `python -m bot.nlu.datagen` (seed {SEED}), then committed: edit the",
        "# generator and re-run rather than editing by hand. Urgency is each example's",
        "# metadata (the intent's metadata gives the default); see docs/nlu.md.",
        'version: "3.1"',
        "nlu:",
    ]
    for intent in intents:
        default = DEFAULT_URGENCY.get(intent, R)
        lines += [f"- intent: {intent}", "  metadata:", f"    urgency: {default}", "  examples:"]
        for ex in data[intent]:
            lines.append(f"  - text: {json.dumps(ex.text, ensure_ascii=False)}")
            if ex.urgency != default:
                lines += ["    metadata:", f"      urgency: {ex.urgency}"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("nlu_data"))
    parser.add_argument("--verbose", action="store_true", help="list urgency adjustments")
    args = parser.parse_args(argv)
    rng = random.Random(SEED)
    data, notes = reconcile(dedupe(build(rng)))
    target = args.out / "nlu"
    target.mkdir(parents=True, exist_ok=True)
    for name, intents in FILES.items():
        (target / name).write_text(render(intents, data), encoding="utf-8")
    total = sum(len(v) for v in data.values())
    for intent, examples in data.items():
        counts = {u: sum(1 for e in examples if e.urgency == u) for u in (E, U, R)}
        print(f"{intent:20} {len(examples):5}  {counts}")
    print(f"total {total}; {len(notes)} urgency notes")
    if args.verbose:
        print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
