"""Rules that must never depend on a statistical model: hazards, needs and entities.

A learned classifier can miss a rare phrasing; a resident who smells gas cannot wait for the
next training run. So the hazards the landlords' published triage treats as emergencies
(domain.md, "Repairs and ASB triage") are regular expressions written to survive lowercase,
missing apostrophes, SMS shorthand and the common typos ("smel of gas", "c0 alarm"). A
false alarm costs a call-back; a miss can cost a life, so the patterns lean towards matching.

Regular expressions rather than spaCy's PhraseMatcher or EntityRuler: typo tolerance inside
a word ("sme+l+") and "within a few words of" windows are one line each here, and the rules
then run on any text without a tokenizer, which `bot.conversation.rasa_nlu` relies on
(`analyse`).

The hazard and needs patterns are written in lowercase and run on `fold(text)`: lowercase,
curly apostrophes made straight, same length as the original so match offsets still point
into it. Case-insensitive matching would do the same at about twice the cost, and these
rules run on every message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.nlu.types import Entity, HazardMatch

EMERGENCY = "emergency"
URGENT = "urgent"
ROUTINE = "routine"
URGENCY_ORDER = {ROUTINE: 0, URGENT: 1, EMERGENCY: 2}

# Signposts the acknowledgement templates know (actions/acknowledge.py).
GAS_LINE = "gas"  # National Gas Emergency Service 0800 111 999
POLICE = "999"
REPAIRS_LINE = "emergency_repairs"

# A gap of up to N words, for "water is dripping onto the light fitting".
_GAP = r"(?:[\w'’-]+[\s,.]+){0,%d}?"


def _gap(words: int) -> str:
    return _GAP % words


_NOT = (
    r"(?:can'?t|cannot|can ?not|won'?t|wont|will ?not|doesn'?t|doesnt|does ?not|isn'?t|not|"
    r"unable to|no longer)"
)
_GAS = r"(?:gas+|gaz|gass)"
_SMELL = r"(?:sm[ea]+l+[a-z]*|smel+t|whiff|stink[a-z]*|stench|reek[a-z]*|sniff)"
_WATER = (
    r"(?:water|rain(?:water)?|leak[a-z]*|leek[a-z]*|drip[a-z]*|wet|flood[a-z]*|pouring|gushing)"
)
_ELECTRIC = (
    r"(?:electric[a-z]*|elec|lecky|leccy|sockets?|plug ?sockets?|light ?fittings?|"
    r"lights?|light ?switch(?:es)?|switch(?:es)?|fuse ?box|fuseboard|consumer unit|wiring|"
    r"wires?|cables?|extractor fan|spot ?lights?)"
)
_WIRE = (
    r"(?:wires?|wiring|cables?|sockets?|plugs?|switch(?:es)?|fuse ?box|consumer unit|"
    r"(?:light |electrical )?fittings?|electrics|electrical (?:points?|items?))"
)
# "isn't working", "doesnt work", "won't come on"...
_BROKEN_VERB = (
    r"(?:isn'?t|is not|aren'?t|are not|doesn'?t|does not|don'?t|do not|not|won'?t|will not)"
    r" (?:working|work|come on|coming on|turn on|turning on|firing)"
)
_HEAT = (
    r"(?:no (?:heat(?:ing)?|hot water|heat or hot water|heating or hot water|gas supply)|"
    r"boiler[\s,.]+" + _gap(3) + r"(?:broke[a-z]*|not working|packed up|died|dead|down|off|"
    r"stopped|gone|bust|kaput|failed|not firing|won'?t (?:come on|fire|turn on|start|work)|"
    r"keeps? (?:going off|cutting out)|" + _BROKEN_VERB + r")|"
    r"(?:heating|radiators?|rads)(?:'s)?[\s,.]+"
    + _gap(3)
    + r"(?:not working|broke[a-z]*|off|gone|dead|packed (?:up|in)|died|bust|kaput|fail[a-z]*|"
    r"stone cold|cold|freezing|won'?t (?:come on|turn on|work)|stopped|" + _BROKEN_VERB + r")|"
    r"without (?:any )?(?:heat(?:ing)?|hot water)|"
    r"(?:loss|failure|lack) of (?:all |the |your )?(?:heat(?:ing)?|hot water)|"
    r"(?:heating|boiler) (?:failure|breakdown|broken down)|"
    r"dim (?:gwres|d[wŵ]r poeth)|(?:gwres|boeler) ddim yn gweithio)"
)
_COLD = (
    r"(?:freez[a-z]*|frozen|snow[a-z]*|winter|icy|ice on|sub ?zero|minus \d|-\d+ ?(?:degrees|c\b)|"
    r"bitter(?:ly)? cold|so cold|really cold|very cold|extremely cold|too cold|"
    r"december|january|february|christmas|(?:\d|one|two) degrees)"
)
_VULNERABLE = (
    r"(?:bab(?:y|ies)|new ?born|toddler|infant|little ones?|kids?|children|child|"
    r"\d+ ?(?:month|week)s? old|pregnan[a-z]*|elderly|pensioner|oap|"
    r"(?:7|8|9)\d(?: years| yrs| year)(?: old)?|(?:i'?m|aged|is|she'?s|he'?s) (?:7|8|9)\d\b|"
    r"nan|nana|gran|grandad|grandma|"
    r"disab[a-z]*|wheelchair|oxygen|dialysis|chemo[a-z]*|cancer|terminal[a-z]*|"
    r"vulnerable|frail|poorly|unwell|(?:very|seriously|is|are|been) ill\b|asthma[a-z]*|"
    r"copd|heart condition|dementia|bed ?bound|housebound|medical condition|"
    r"colder months|cold weather|older (?:adults?|people|residents?)|"
    r"under (?:5|five)s?\b)"
)
_HEALTH = (
    r"(?:asthma[a-z]*|breath[a-z]*|chest|cough[a-z]*|wheez[a-z]*|illness|poorly|"
    r"hospital[a-z]*|gp\b|doctors?\b|lungs?|respiratory|allerg[a-z]*|inhaler|infection|copd|"
    r"bronch[a-z]*|nhs|a&e|rash(?:es)?|health (?:problems?|issues?|condition|visitor)|"
    r"(?:my|our|his|her|their|the kids'?|family'?s?) health|"
    r"making (?:me|us|him|her|them|the \w+|my \w+) (?:ill|sick|poorly|unwell)|"
    r"feel(?:ing)? (?:ill|sick)|symptoms?|vulnerab[a-z]*|infants?|under (?:5|five)s?\b|"
    r"pregnan[a-z]*|elderly)"
)
# "no heating in the box room, rest of the flat is fine": not the whole home without heat
_PART_OF_HOME_HEATED = (
    r"rest of the (?:flat|house|home|place)|half (?:of )?the (?:flat|house|home|radiators)|"
    r"(?:just|only) (?:one|the one|1) (?:radiator|rad|room)|heating (?:is|'s) (?:ok|fine)"
)
_MOULD = r"(?:mou?ld[a-z]*|mold[a-z]*|mildew|fungus|black spots?|black stuff|damp)"


_LIFT_DOWN_PATTERNS = (
    r"\b(?:stuck|trapped)\s+(?:[\w'-]+\s+){0,2}?(?:in|inside)\s+(?:the\s+|a\s+)?lift",
    r"\blifts?[\s,.]+" + _gap(6) + r"(?:broke[a-z]*|not working|out of order|out of service|"
    r"down|stuck|bust|dead|fail[a-z]*|breakdown|out of action)",
    r"\b(?:failure|breakdown|broken down) of (?:the |a |our )?(?:communal )?lifts?\b",
    r"\blift (?:failure|breakdown|fault)",
)


@dataclass(frozen=True, slots=True)
class HazardRule:
    name: str
    level: str  # EMERGENCY forces the urgency; URGENT sets a floor of urgent
    signpost: str
    patterns: tuple[re.Pattern[str], ...]
    # every one of these must also occur somewhere in the message (e.g. "no heating" + "baby")
    also: tuple[re.Pattern[str], ...] = ()
    # none of these may occur (e.g. "the other toilet still works")
    unless: tuple[re.Pattern[str], ...] = ()
    # One short question whose answer tells an emergency from less (URGENT rules that are
    # sometimes emergencies): the engine may ask it and triage the answer.
    ask: str | None = None


def _rx(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


def fold(text: str) -> str:
    """Lowercase with straight apostrophes, exactly as long as `text` (offsets carry over)."""
    folded = text.translate(_APOSTROPHES).lower()
    if len(folded) == len(text):
        return folded
    # A few characters grow when lowercased ("İ" -> "i̇"): fold those one by one, or keep them.
    return "".join(
        low if len(low := ch.lower()) == 1 else ch for ch in text.translate(_APOSTROPHES)
    )


HAZARD_RULES: tuple[HazardRule, ...] = (
    HazardRule(
        "gas",
        EMERGENCY,
        GAS_LINE,
        _rx(
            rf"\b{_SMELL}\s+(?:of\s+|like\s+|off\s+|o\s+)?(?:a\s+)?{_GAS}\b",
            rf"\b{_GAS}\s*(?:smell[a-z]*|smel[a-z]*|leak[a-z]*|leek[a-z]*|escape|escaping|"
            rf"hiss[a-z]*|pouring|coming out)",
            rf"\b(?:leak[a-z]*|leek[a-z]*|escap[a-z]*|hissing)\s+(?:of\s+)?{_GAS}\b",
            r"\b(?:hob|cooker|oven|boiler|meter|pipe)\s+(?:is\s+)?(?:leaking|hissing)\s+gas",
            # the same in the languages residents most often write in (Welsh, Polish...)
            r"\b(?:arogli? nwy|nwy yn gollwng|czuj[eę] gaz|zapach gazu|wyciek gazu|miros de gaz|"
            r"scurgere de gaz|odeur de gaz|fuite de gaz|olor a gas|fuga de gas|"
            r"cheiro (?:a|de) g[aá]s|"
            r"fuga de g[aá]s|gaz kokusu|gaz ka[cç]a[gğ][iı]|dujų kvapas)",
        ),
    ),
    HazardRule(
        "carbon_monoxide",
        EMERGENCY,
        GAS_LINE,
        _rx(
            r"\bcarb[oa]n\s*mon[a-z]*",
            r"\bcarbon\s*dioxide\s*(?:alarm|detector|monitor)",
            r"\bc[o0]2?\s*(?:alarm|detector|monitor|sensor|poisoning|leak)",
            r"\bmonoxide\b",
            r"\bblocked (?:chimney|flue)|"
            r"\bflue\s+(?:is\s+|has\s+)?(?:blocked|damaged|broken|leaking)",
            r"\bcarbon monocsid|\blarwm (?:carbon|co)\b|\bmonocsid",
        ),
    ),
    HazardRule(
        "fire",
        EMERGENCY,
        POLICE,
        _rx(
            r"\b(?:on fire|caught fire|catch(?:ing)? fire|set fire|fire in\b|house fire|"
            r"a fire\b(?! (?:door|escape|exit|alarm|extinguisher|blanket|safety|risk|check|"
            r"evacuation|drill|plan|warden|test))|"
            r"flat fire|kitchen fire|fire damage|fire brigade|fire service|fire fighters?|"
            r"firemen|flames?\b|ablaze|burn(?:ing|t) down|arson)",
            # Welsh, Polish, Spanish, French, Portuguese, Romanian
            r"\b(?:mae tân|ar dân|tân yn|pożar[a-z]*|palí się|incendio|fuego en|incendie|au feu|"
            r"incêndio|incendiu)",
            r"\b(?:smell of burning|burning smell|smells? (?:like )?burning)",
            r"\bsmoke\s+(?:is\s+)?(?:coming|pouring|billowing|everywhere|filling)",
        ),
    ),
    HazardRule(
        "flooding",
        EMERGENCY,
        REPAIRS_LINE,
        _rx(
            r"\bflood(?:ed|ing|s)?\b",
            # Welsh, Polish, Spanish, French, Portuguese, Romanian
            r"\b(?:llifogydd|dŵr yn (?:dod|llifo) (?:trwy|drwy)|zalan[a-z]*|zalewa[a-z]*|"
            r"powódź|inundaci[oó]n|inundad[oa]|inondation|inondé[a-z]*|inundaç[aã]o|"
            r"inunda[țt]i[ea]|inundat)",
            r"\bburst (?:water )?(?:pipe|main|tank|cylinder)",
            r"\bpipe(?:s)? (?:has |have )?burst",
            r"\bwater\s+(?:is\s+)?(?:pouring|gushing|pissing|spraying|streaming|cascading|"
            r"flowing|coming)\s+(?:in|out|down|through|from|everywhere)",
            r"\bwater\s+(?:is\s+)?(?:everywhere|all over the floor|up to)",
            rf"\b{_NOT}\s+(?:stop|turn off|find the stopcock to stop|contain)\s+"
            r"(?:the\s+)?(?:leak|water)",
            r"\b(?:leak|water)\s+(?:is\s+)?(?:not|wont|won'?t)\s+stop",
            r"\bstop ?cock (?:is |wont |won'?t |doesn'?t )?(?:broken|work|turn|stuck)",
            r"\bceiling\s+(?:is\s+)?(?:pouring|gushing)",
            r"\b(?:major|significant|serious|severe|heavy|massive|huge|uncontroll?able|"
            r"uncontained)\s+(?:water\s+)?(?:leak|escape of water|flow of water)",
            r"\b(?:leak|water)s?\s+(?:[\w'-]+\s+){0,3}?(?:cannot|can'?t|could not|couldn'?t)"
            r"\s+(?:be\s+)?(?:contained|controlled|stopped|isolated)",
            r"\b(?:uncontroll?able|uncontainable)\b|\bcannot be (?:contained|isolated)",
            r"\bd[wŵ]r yn (?:arllwys|pistyllio|llifo)",
        ),
    ),
    HazardRule(
        "water_electrics",
        EMERGENCY,
        REPAIRS_LINE,
        _rx(
            rf"\b{_WATER}\w*\s+(?:[\w'’-]+\s+){{0,7}}?(?:in|into|onto|on|through|from|out of|"
            rf"near|round|around|behind|over|under|by|inside|down)\s+(?:the\s+|my\s+|a\s+)?"
            rf"(?:[\w'-]+\s+)?{_ELECTRIC}\b",
            rf"\b{_ELECTRIC}\s+(?:[\w'’-]+\s+){{0,4}}?(?:is\s+|are\s+|got\s+|gotten\s+|getting\s+)?"
            r"(?:wet|soaked|soaking|dripping|leaking|full of water|filling with water|"
            r"has water|have water|water)",
            r"\b(?:risk|danger) of (?:an? )?electric(?:al)? shock",
            # Welsh: water (dŵr) leaking (gollwng) or coming through (trwy/drwy) near lights
            # (golau), sockets (soced) or electricity (trydan)
            r"\bd[wŵ]r\b.{0,80}?\b(?:golau|goleuadau|soced[a-z]*|trydan[a-z]*|ffiws)",
            r"\b(?:golau|goleuadau|soced[a-z]*|trydan[a-z]*|ffiws)\b.{0,80}?\bd[wŵ]r\b",
        ),
    ),
    HazardRule(
        "electrics",
        EMERGENCY,
        REPAIRS_LINE,
        _rx(
            r"\blive (?:wires?|wiring|cables?)",
            rf"\b(?:exposed|bare|hanging|dangling|sparking|sparky|sparks?|sparked|arcing|"
            rf"burnt|burned|scorched|smoking|melted|melting|charred)\s+(?:[\w'-]+\s+){{0,2}}?{_WIRE}",
            rf"\b{_WIRE}\s+(?:[\w'-]+\s+){{0,5}}?(?:sparking|sparked|sparks|spark|smoking|melted|"
            r"scorching|melting|buzzing|crackling|scorched|burnt|burning|hot to (?:the )?touch|"
            r"exposed|hanging out|sticking out|pulled out)",
            r"\b(?:electric(?:al)?\s+)?shock(?:ed)?\s+(?:off|from)\b",
            r"\bgot (?:an? )?(?:electric )?shock",
            r"\belectrocut[a-z]*",
            r"\bwires?\s+(?:are\s+|is\s+)?(?:out|showing|exposed)",
            r"\b(?:unsafe|dangerous|live)\s+(?:power|electric[a-z]*|sockets?|light(?:ing)?|"
            r"wiring|fittings?|switch[a-z]*)",
            r"\b(?:dangerous|major|serious|unsafe)\s+(?:electric(?:al)?\s+)?(?:fault|failure)",
            r"\b(?:scorch[a-z]*|smoking|sparks?|sparking)\s+(?:from|on|at|in)\s+(?:the\s+)?"
            r"(?:electric[a-z]*|sockets?|plugs?|switch[a-z]*|fittings?|fuse ?box|meter)",
        ),
    ),
    HazardRule(
        "no_power",
        EMERGENCY,
        REPAIRS_LINE,
        _rx(
            r"\bno (?:power|electric(?:s|ity)?|elec|lecky|leccy|lights? (?:at all|anywhere))\b",
            r"\b(?:power|electric(?:s|ity)?|lecky|leccy)\s*(?:'s|is|has|have)?\s*(?:all\s+)?"
            r"(?:gone(?! up)|cut|out|off|tripped and won'?t)",
            r"\blost (?:all )?(?:power|electric(?:s|ity)?)",
            r"\b(?:fuse ?box|trip ?switch|rcd|consumer unit)\s+(?:keeps\s+)?"
            r"(?:tripping|tripped|won'?t reset)",
            r"\bwhole (?:flat|house|home|place) (?:has )?(?:no|without) (?:power|electric)",
            r"\b(?:total|complete|full)?\s*(?:loss|failure|lack)\s+of\s+(?:all\s+|the\s+|your\s+)?"
            r"(?:mains\s+)?(?:electric(?:s|ity|al)?|power)\b(?! to (?:one|a|the) (?:socket|room))",
            r"\b(?:loss|failure) of (?:the\s+)?(?:electricity|electric|gas|water|heating)"
            r"(?:,| or| and| ,)+ (?:gas|water|electricity|power)",
            r"\b(?:power|electric(?:ity|al)?|electrics)\s+(?:supply\s+)?(?:failure|failed|cut|outage)",
            r"\bdim trydan|\btrydan (?:wedi mynd|i ffwrdd)",
        ),
    ),
    HazardRule(
        "no_water",
        EMERGENCY,
        REPAIRS_LINE,
        _rx(
            r"\bno (?:running |cold |mains )?water\b(?! pressure)",
            r"\b(?<!hot )water\s*(?:'s|is|has)?\s*(?:been\s+)?(?:off|gone|cut off|stopped)\b",
            r"\bnothing (?:is )?coming out of (?:the |any )?taps?",
            r"\bwithout (?:any )?(?:running )?water\b",
            r"\btaps? (?:are |is )?dry\b",
            r"\b(?:loss|failure|lack)\s+of\s+(?:all\s+|the\s+|your\s+)?(?:mains\s+|cold\s+|"
            r"running\s+)?water\b",
            r"\bwater supply\s+(?:is\s+|has\s+)?(?:off|gone|failed|cut|lost|stopped)",
            r"\bdim d[wŵ]r\b(?! poeth)",
        ),
    ),
    HazardRule(
        "sewage",
        EMERGENCY,
        REPAIRS_LINE,
        _rx(
            r"\bsew(?:age|erage|er|ege|adge)\b",
            r"\b(?:toilet|loo|drains?|waste|poo|faeces|feces|excrement)\s+(?:[\w'-]+\s+){0,3}?"
            r"(?:backing up|backed up|coming up|overflowing|came up)",
            r"\bpoo (?:water|coming|everywhere)",
            r"\b(?:blocked|overflowing|backed up|backing up)\s*(?:(?:/|or|and)\s*"
            r"(?:blocked|overflowing)\s+)?(?:outside\s+|external\s+|main\s+|foul\s+)?"
            r"(?:drains?|sewers?|gull(?:y|ies))",
            r"\b(?:drains?|sewers?|gull(?:y|ies))\s+(?:is\s+|are\s+)?(?:[\w'-]+\s+){0,2}?"
            r"(?:blocked|overflowing|backing up|backed up)",
            r"\bcarthffos[a-z]*|\bcarthion",
        ),
    ),
    HazardRule(
        "only_toilet",
        EMERGENCY,
        REPAIRS_LINE,
        _rx(
            r"\b(?:only|one|single|just the one|1)\s+(?:toilet|loo|wc|lavatory)\b",
            r"\b(?:toilet|loo)\b.{0,60}?\b(?:our|my|the) only one\b",
            r"\bno other (?:toilet|loo|wc)\b",
            # Most social homes have one toilet: a blocked or unusable one is the only one
            # unless the message says otherwise (unless= below).
            r"\b(?:blocked|unusable|broken|overflowing)\s+(?:or\s+[a-z]+\s+)?(?:[a-z]+\s+)?"
            r"(?:toilets?|loos?|wcs?)\b",
            r"\b(?:toilets?|loos?|wcs?)\s+(?:is\s+|are\s+|has\s+|have\s+)?(?:been\s+)?(?:totally\s+|"
            r"completely\s+)?(?:blocked|not flushing|won'?t flush|unusable|overflowing)",
            r"\btoiled\s+(?:wedi\s+)?(?:blocio|blocio'?n|torri)",
        ),
        also=_rx(
            r"(?:block[a-z]*|broke[a-z]*|not (?:flushing|working)|won'?t flush|wont flush|"
            r"doesn'?t flush|not flushing|cracked|unusable|can'?t (?:use|flush)|overflow[a-z]*|"
            r"leaking|blocio|torri)"
        ),
        unless=_rx(
            r"(?:(?<!no )other|second|another|2nd|spare|downstairs|upstairs) (?:toilet|loo|wc)|"
            r"(?:two|2|more than one) (?:toilets?|loos?)|"
            r"(?:toilet|loo) (?:seat|roll|lid|brush|door)"
        ),
        ask="Is it the only toilet in your home?",
    ),
    HazardRule(
        "insecure_home",
        EMERGENCY,
        POLICE,
        _rx(
            r"\b(?:break[- ]?in|broken into|brake in|burgl[a-z]*|broke in)\b",
            rf"\b(?:front|back|main|flat|patio|entrance|my|our|the)\s+door\s+(?:[\w'-]+\s+){{0,2}}?{_NOT}\s+"
            r"(?:lock|close|shut|secure)",
            rf"\b{_NOT}\s+(?:lock|secure|close|shut)\s+(?:my|the|our)\s+"
            r"(?:front |back |flat |patio )?"
            r"(?:door|flat|house|home|property|window)",
            r"\bdoor\s+(?:was\s+|has been\s+|got\s+)?(?:kicked|smashed|forced|booted)\s+"
            r"(?:in|open|down)",
            r"\b(?:kicked|smashed|forced)\s+(?:in\s+)?(?:my|the|our)\s+(?:front |back )?door",
            r"\b(?:lock|locks)\s+(?:has |have |is |are )?(?:been\s+)?"
            r"(?:snapped|smashed|broken off)",
            r"\bhome (?:is )?(?:insecure|not secure)|\binsecure\b",
            r"\bforced (?:entry|open)|\bforc(?:ed|ing) (?:the |my |our )?(?:door|window|lock)",
            r"\bunsecured?\b|\b(?:aren'?t|isn'?t|not|no longer|can'?t be|cannot be) secure[d]?\b",
            r"\b(?:can'?t|cannot|unable to|couldn'?t) secure (?:it|the|my|our|this)\b",
            r"\b(?:security risk|risk to (?:[a-z]+ )?security|(?:home|property) security)",
            r"\bdrws? (?:wedi torri|ddim yn cloi)|\btorri i mewn",
        ),
    ),
    HazardRule(
        "structure",
        EMERGENCY,
        REPAIRS_LINE,
        _rx(
            r"\b(?:ceiling|roof|wall|floor|balcony|stairs|staircase|chimney)(?:'s|s)?\s+"
            r"(?:[\w'-]+\s+){0,4}?"
            r"(?:collaps[a-z]*|caved?(?: in)?|caving|fell (?:in|down)|fallen (?:in|down)|"
            r"come down|came down|coming down|falling (?:in|down)|bowing|sagging|bulging|"
            r"(?:could|might|going to|gonna) (?:come down|collapse|fall (?:in|down))|"
            r"about to (?:fall|collapse|give way)|gave way|giving way)",
            r"\b(?:collaps[a-z]*|fallen|falling)\s+(?:in\s+)?(?:the\s+)?(?:ceiling|roof|balcony)",
            r"\bdangerous (?:structure|building|wall|ceiling)",
            r"\bstorm damage|\b(?:roof|tiles?|chimney)\s+(?:[\w'-]+\s+){0,2}?blown (?:off|down)",
            r"\btree\s+(?:has\s+)?(?:fallen|fell|come down|came down)\s+(?:on|onto|through)",
            r"\bstructural(?:ly)?\s+(?:[a-z]+\s+)?(?:defects?|damage|danger|faults?|failure|"
            r"collapse|unsafe|unsound)|\bunsafe (?:structure|building|balcony|stairs?)",
            r"\b(?:severe|major|serious|significant)\s+(?:roof|storm|gale|structural|"
            r"fire|flood)?\s*damage",
            r"\b(?:gale|storm|lightning|wind) damage|\bdamage (?:caused )?by (?:a |the )?"
            r"(?:gale|storm|lightning|high winds?)",
            r"\bloose (?:roof\s+)?(?:tiles?|slates?|masonry|bricks?|coping|render)",
            r"\bbalcony\s+(?:rail(?:ing)?s?|barrier|balustrade)\s+(?:[\w'-]+\s+){0,2}?"
            r"(?:hanging off|came off|come off|coming off|loose|collapsed|broken)",
            r"\b(?:risk|danger) of (?:serious\s+)?(?:injury|collapse|death|falling)|"
            r"\b(?:immediate|serious) (?:risk|danger) (?:to|of)",
            r"\bnenfwd\s+(?:wedi\s+)?(?:cwympo|disgyn|syrthio)|\b(?:cwympo|disgyn)\s+(?:mae'?r\s+)?nenfwd",
        ),
    ),
    HazardRule(
        "lift",
        EMERGENCY,
        REPAIRS_LINE,
        _rx(*_LIFT_DOWN_PATTERNS),
        also=_rx(
            r"(?:stuck|trapped|wheelchair|can'?t (?:get|go) (?:out|down|up|home)|"
            r"cannot (?:get|go) (?:out|down|up)|housebound|only lift|no other lift|"
            r"(?:\d+|ten|eleven|twelve|fifteen)(?:th|st|nd|rd)? floor|top floor|oxygen|"
            r"pram|mobility|disab[a-z]*|can'?t walk|can'?t (?:manage|use|climb|do) (?:the )?stairs)"
        ),
    ),
    # Lift out of order, nobody said to be stuck or unable to use the stairs: urgent, and
    # the one question that would make it an emergency.
    HazardRule(
        "lift_out",
        URGENT,
        REPAIRS_LINE,
        _rx(*_LIFT_DOWN_PATTERNS),
        ask="Is anyone stuck in the lift, or unable to use the stairs?",
    ),
    HazardRule(
        "fire_alarm",
        EMERGENCY,
        REPAIRS_LINE,
        _rx(
            r"\b(?:fire|smoke|heat)\s+alarms?\s+(?:system\s+)?(?:[\w'-]+\s+){0,3}?(?:sounding|"
            r"going off|ringing|keeps? going|not working|isn'?t working|aren'?t working|"
            r"doesn'?t work|faulty|broken|failed|failure|fault)",
            r"\b(?:faulty|broken|failed|sounding|defective)\s+(?:communal\s+)?(?:fire|smoke|heat)"
            r"\s+(?:alarm|detector)",
            r"\bfire (?:door|escape|exit)s?\s+(?:is\s+|are\s+)?(?:blocked|won'?t close|"
            r"jammed|locked)",
            r"\blarwm t[aâ]n",
        ),
    ),
    HazardRule(
        "call_system",
        EMERGENCY,
        REPAIRS_LINE,
        _rx(
            r"\b(?:warden|careline|lifeline|pull ?cords?|emergency call|community alarm|"
            r"alarm call|call)\s+(?:alarm\s+|system\s+|unit\s+)?(?:[\w'-]+\s+){0,2}?"
            r"(?:inoperative|not working|failed|failure|faulty|broken|down|dead)",
            r"\b(?:failure|fault) (?:of|in|with) (?:the |a |your )?(?:warden|careline|lifeline|"
            r"call system|emergency call|community alarm|pull ?cord)",
        ),
    ),
    HazardRule(
        "communal_lighting",
        EMERGENCY,
        REPAIRS_LINE,
        _rx(
            r"\b(?:communal|stair[a-z]*|corridors?|landings?|walkways?|hallway)\s+"
            r"(?:[\w'-]+\s+){0,2}?light[a-z]*\s+(?:[\w'-]+\s+){0,2}?(?:out|off|not working|"
            r"failed|failure|gone|dark|dangerous)",
            r"\b(?:loss|failure|lack) of (?:the\s+|all\s+)?communal light",
            r"\blights?\s+(?:on|in|along)\s+(?:the\s+)?(?:stair[a-z]*|corridors?|landings?|"
            r"walkways?|communal [a-z]+)\s+(?:are\s+|is\s+)?(?:all\s+)?(?:out|off|not working|"
            r"gone|dead)",
            r"\b(?:stair[a-z]*|corridors?|landings?)\b[^.!?\n]{0,40}?\bpitch (?:black|dark)",
            r"\blight[a-z]* (?:to|in|on) (?:the )?communal (?:stair[a-z]*|corridors?|areas?|"
            r"landings?)",
        ),
    ),
    HazardRule(
        "locked_in_out",
        EMERGENCY,
        REPAIRS_LINE,
        _rx(
            r"\blocked (?:in|out)\b",
            r"\b(?:can'?t|cannot|unable to) (?:get|go) (?:in|into|out of) (?:my|the|our) "
            r"(?:flat|house|home|property)",
        ),
    ),
    HazardRule(
        "no_gas_supply",
        EMERGENCY,
        REPAIRS_LINE,
        _rx(
            r"\b(?:total|partial|complete)?\s*(?:loss|failure|lack) of (?:the )?gas(?: supply)?\b",
            r"\bno gas\b(?! (?:smell|leak))",
            r"\bgas (?:supply )?(?:has been |was |is )?(?:cut off|capped|turned off)",
        ),
    ),
    # Losing heating or hot water outside the rules above (no season, nobody vulnerable
    # said): at least urgent, and the question that would make it an emergency.
    HazardRule(
        "no_heating",
        URGENT,
        REPAIRS_LINE,
        _rx(_HEAT),
        unless=_rx(_PART_OF_HOME_HEATED),
        ask="Is anyone at home elderly, disabled, pregnant, very young or unwell?",
    ),
    HazardRule(
        "partial_power",
        URGENT,
        REPAIRS_LINE,
        _rx(
            r"\bpartial (?:loss|failure) of (?:electric[a-z]*|power|light[a-z]*)",
            r"\b(?:electric(?:al)?|power|light(?:ing)?)\s+(?:fault|failure|problem)s?\b",
            r"\b(?:sockets?|lights?)\s+(?:[\w'-]+\s+){0,3}?(?:not working|stopped working|"
            r"gone off|tripping)",
            r"\bfuse (?:keeps )?(?:blowing|blown|tripping)|\btrip(?:s|ping)? (?:out|the power)",
        ),
        ask="Does it affect medical equipment, the cooker or the fridge, or every light?",
    ),
    HazardRule(
        "leak",
        URGENT,
        REPAIRS_LINE,
        _rx(
            r"\b(?:leak[a-z]*|dripping|pouring)\b",
            r"\bd[wŵ]r yn (?:gollwng|diferu)|\bgollwng\b",
        ),
        unless=_rx(
            r"\b(?:taps?|shower ?heads?|cistern)\b",
            r"\b(?:contained|in a (?:bowl|bucket)|small|minor|slight|slow)\b",
        ),
        ask="Is water near lights or sockets, or can you not stop it?",
    ),
    HazardRule(
        "no_heating_vulnerable",
        EMERGENCY,
        REPAIRS_LINE,
        _rx(_HEAT),
        also=_rx(rf"\b(?:{_VULNERABLE}|{_COLD})"),
    ),
    HazardRule(
        "damp_mould_health",
        EMERGENCY,
        REPAIRS_LINE,
        _rx(rf"\b{_MOULD}"),
        also=_rx(rf"\b{_HEALTH}"),
    ),
    # People: the police first. Immediate danger forces an emergency (999 now).
    HazardRule(
        "self_harm",
        EMERGENCY,
        POLICE,
        _rx(
            r"\b(?:kill|hurt|harm)(?:ing)? my ?self\b",
            r"\bsuicid[a-z]*|\bself[- ]?harm[a-z]*",
            r"\bend (?:it all|my life|my own life)|\btake my (?:own )?life",
            r"\bwant(?:s|ed)? to die\b|\bdon'?t want to (?:live|be here)",
            r"\boverdos[a-z]*",
        ),
    ),
    HazardRule(
        "danger_to_life",
        EMERGENCY,
        POLICE,
        _rx(
            r"\b(?:has|had|got|with|waving|holding|carrying|pulled|brandish[a-z]*)\s+(?:out\s+)?"
            r"(?:a|an|his|her|their)?\s*"
            r"(?:knife|knives|gun|machete|blade|weapon|axe|baseball bat)\b",
            r"\bthreat[a-z]*\s+(?:[\w'-]+\s+){0,3}?(?:to\s+)?(?:kill|stab|burn|shoot|murder|"
            r"torch|petrol bomb)",
            r"\bburn (?:the|my|our|your|this) (?:flat|house|place|block|building) down",
            r"\b(?:going to|going 2|gonna|gunna|will|wants to|want to)\s+"
            r"(?:kill|stab|shoot|murder|burn)\s+"
            r"(?:me|us|my|him|her|them|the)",
            r"\b(?:is|are|being|getting)\s+(?:being\s+)?(?:attack(?:ed|ing)|beat(?:en|ing) up|"
            r"stabbed|assaulted)\s+(?:right\s+)?(?:now|me|us|my|outside|in)",
            r"\b(?:trying to|tryna|trying 2)\s+(?:break|kick|smash)\s+(?:in|down|through)?\s*"
            r"(?:my|the|our)?\s*(?:door|window|in)",
            r"\b(?:in|at)\s+(?:immediate\s+)?danger\b|\bdanger to life|\bnot safe (?:right )?now",
            r"\b(?:not breathing|unconscious|bleeding (?:heavily|badly|everywhere))",
            r"\bhelp (?:me|us) (?:now|please now|quick)",
        ),
    ),
    HazardRule(
        "violence",
        URGENT,
        POLICE,
        _rx(
            r"\bassault[a-z]*|\bpunch(?:ed|ing|es)?\b|"
            r"(?<!heart )(?<!panic )(?<!asthma )\battack(?:ed|ing|s)?\b",
            r"\b(?:hit|beat|slapped|kicked|headbutted|pushed|shoved|spat (?:at|on))\s+"
            r"(?:me|us|my|him|her|them|up)\b",
            r"\bviolen[a-z]*|\bfight(?:ing)? (?:in|outside|on)|\bstabb(?:ed|ing)",
        ),
    ),
    HazardRule(
        "threat",
        URGENT,
        POLICE,
        _rx(
            r"\bthreat[a-z]*\b(?! (?:me |us )?(?:with|of) (?:eviction|court|legal|bailiffs))",
            r"\bintimidat[a-z]*",
            r"\b(?:said|says|saying) (?:he|she|they)(?:'ll| will| would| is going to| are going to)"
            r"\s+(?:get|hurt|do|sort)\s+(?:me|us|my)",
        ),
    ),
    HazardRule(
        "hate_crime",
        URGENT,
        POLICE,
        _rx(
            r"\bhate (?:crime|incident|speech)|\bracis[a-z]*|\bracial[a-z]*|\bhomophob[a-z]*",
            r"\btransphob[a-z]*|\bislamophob[a-z]*|\bantisemit[a-z]*|\bdisablist|\bxenophob[a-z]*",
            r"\bbecause (?:i'?m|we'?re|i am|we are|of my|of our|he'?s|she'?s)\s+"
            r"(?:black|asian|muslim|jewish|gay|lesbian|trans|disabled|polish|foreign|"
            r"religion|race|skin|colour|sexuality|hijab|turban)",
            r"\b(?:go back to (?:your|ur|our|my|their|his|her) (?:own )?country|paki|n-word)\b",
        ),
    ),
    HazardRule(
        "domestic_abuse",
        URGENT,
        POLICE,
        _rx(
            r"\bdomestic (?:abuse|violence|incident)|\bcoercive control|\bfleeing\b|\bdv\b",
            r"\bmy (?:partner|ex|husband|hubby|boyfriend|bf|wife|girlfriend|gf|ex-partner|"
            r"ex partner|ex husband|ex-husband|son|daughter)\s+(?:[\w'-]+\s+){0,2}?(?:hits|hit|"
            r"beats|beat|hurts|hurt|abus[a-z]*|strangl[a-z]*|chok[a-z]*|control[a-z]*|"
            r"threaten[a-z]*|won'?t let me|locked me)",
            r"\brefuge\b|\babusive (?:partner|relationship|ex|husband|boyfriend)",
        ),
    ),
    HazardRule(
        "cuckooing",
        URGENT,
        POLICE,
        _rx(
            r"\bcuckoo[a-z]*|\bcounty lines?\b",
            r"\b(?:dealers?|gang)\s+(?:[\w'-]+\s+){0,3}?(?:taken over|took over|living in|"
            r"using (?:his|her|their|the) (?:flat|home|house))",
            r"\btaken over (?:his|her|their|my|the) (?:flat|home|house|place)",
        ),
    ),
    HazardRule(
        "harassment",
        URGENT,
        POLICE,
        _rx(
            r"\bharr?ass?[a-z]*|\bstalk(?:ing|ed|er|s)\b",
            r"\bwon'?t leave (?:me|us) alone|\bkeeps? following (?:me|us)",
        ),
    ),
)


# ---- needs (reasonable adjustments, ACCESS) ---------------------------------------------
NEED_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        (
            "elderly",
            r"\b(?:elderly|pensioner|oap|old age|frail|aged (?:7|8|9)\d|"
            r"(?:i'?m|she'?s|he'?s) (?:7|8|9)\d\b|"
            r"(?:7|8|9)\d(?:[- ]?(?:years?|yrs?|yo))(?:[- ]old)?|"
            r"in (?:my|her|his|their) (?:7|8|9)0s|"
            r"my (?:nan|nana|gran|granny|grandma|grandad|grandpa)|old (?:lady|man|couple)|"
            r"older person|senior citizen)\b",
        ),
        (
            "disabled",
            r"\b(?:disab[a-z]*|wheel ?chair|mobility|deaf|partially sighted|"
            r"(?:i'?m|is|am|are|registered|partially|severely|going) blind|"
            r"visually impaired|hearing impaired|walking frame|zimmer|crutches|walking stick|"
            r"housebound|bed ?bound|bedridden|dementia|alzheimer[a-z']*|autis[a-z]*|"
            r"learning difficult[a-z]*|learning disab[a-z]*|mental health|"
            r"multiple sclerosis|parkinson[a-z']*|stroke|carer|paralys[a-z]*)",
        ),
        (
            "pregnant",
            r"\b(?:pregnan[a-z]*|preggers|expecting (?:a baby|twins)|\d+ weeks gone|"
            r"due (?:date|in (?:\d|two|three|four) weeks)|maternity)",
        ),
        (
            "child",
            r"\b(?:bab(?:y|ies|ys)|bby|new ?borns?|toddlers?|infants?|kids?|children|childrens|"
            r"child|little ones?|\d+ ?(?:month|week)s? old|"
            r"(?:my|our|a|an|his|her|their)\s+(?:[1-9]|1[0-7])[- ]?(?:yr|year)s?[- ]old|"
            r"my (?:little|baby|young) (?:son|daughter|boy|girl))",
        ),
        (
            "medical_equipment",
            r"\b(?:oxygen|dialysis|nebuli[sz]er|ventilator|stair ?lift|hoist|"
            r"medical (?:equipment|bed|machine)|insulin|cpap|feeding (?:pump|tube)|"
            r"electric (?:bed|wheelchair)|hospital bed|suction machine|concentrator)",
        ),
        (
            "abusive",
            r"(?:\bf+u+c+k+[a-z]*|\bf\*+k[a-z]*|\bfk(?:in|ing|n)?\b|\bfcking|\bffs\b|\bwtf\b|"
            r"\bsh[i1]te?\b|\bsh[i1]t(?:e|ty|s|head)?\b|\bbastard[a-z]*|\bwanker[a-z]*|"
            r"\bc+u+n+t+[a-z]*|\btwats?\b|\bdick ?heads?\b|\bpr[i1]cks?\b|\bbollocks\b|"
            r"\bidiots?\b|\bmorons?\b|\bscumbags?\b|\barseholes?\b|"
            r"\bbellends?\b|\btossers?\b)",
        ),
    )
)


# ---- entities ----------------------------------------------------------------------------
POSTCODE_RE = re.compile(
    r"\b(?:[A-PR-UWYZ][A-HK-Y]?\d[A-HJKPSTUW\d]?|[A-PR-UWYZ]\d[A-HJKPSTUW])\s?\d[ABD-HJLNP-UW-Z]{2}\b",
    re.IGNORECASE,
)
PHONE_RE = re.compile(
    r"(?<![\w+])(?:\+44\s?\(?0?\)?\s?|0044\s?|0)(?:\d[\s-]?){8,9}\d(?!\d)",
)
REFERENCE_RE = re.compile(
    # DS-7KQM-4W3P: our case references (bot/domain/references.py), and the first format
    r"\b(?:DS-[34679ACDEFGHJKMNPQRTWXY]{4}-?[34679ACDEFGHJKMNPQRTWXY]{4}|"
    r"DS-\d{4}-\d{6}|(?:JOB|WO|REP|JB|WK)[-/ ]?\d{4,9})\b"
    r"|(?<=job )(?:(?:no|number|ref|reference)\.?:?\s*)?\d{5,9}\b"
    r"|(?<=job no )\d{4,9}\b|(?<=job number )\d{4,9}\b|(?<=job ref )\d{4,9}\b",
    re.IGNORECASE,
)
_DAY = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?"
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
DATE_RE = re.compile(
    r"\b(?:\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{1,2}\.\d{1,2}\.\d{2,4}|"
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b(?:\s+\d{{4}})?|"
    rf"{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b|"
    rf"(?:next|last|this|on|since|from|till|until|by)\s+{_DAY}\b|"
    r"(?:next|last|this) (?:week|weekend|month|year|morning|afternoon|evening)|"
    r"today|tomorrow|tmrw|tmrw|tomoz|yesterday|tonight|last night|this morning)\b",
    re.IGNORECASE,
)
ROOM_RE = re.compile(
    r"\b(?:(?:front|back|main|spare|box|kids'?|master|second|small|big|baby'?s)\s+)?"
    r"(?:bed ?rooms?|bedrom|kitch[ei]ns?|kitchin|bath ?rooms?|bathrom|living ?rooms?|"
    r"lounge|sitting room|front room|dining room|hall ?way|hall|landing|loft|attic|"
    r"garden|balcony|stair ?well|stairs|utility room|shower room|en ?suite|"
    r"conservatory|garage|shed|cupboard|airing cupboard|box room|wc|toilet|loo|"
    r"communal (?:area|hallway|stairs|entrance)|bin store|porch|basement|cellar)\b",
    re.IGNORECASE,
)
# "on monday" -> the date is "monday"; the leading word only anchors the match.
_DATE_LEADS = ("on ", "since ", "from ", "till ", "until ", "by ")
# Dates like 12/3 collide with nothing else we extract, but refs and phones contain digits.
_ENTITY_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("reference", REFERENCE_RE),
    ("phone_number", PHONE_RE),
    ("postcode", POSTCODE_RE),
    ("date", DATE_RE),
    ("room", ROOM_RE),
)


# domain.md: "no heating or hot water in winter" is an emergency in itself. The season is
# the landlords' usual 31 October to 1 May; outside it the rule above needs a vulnerable
# resident or cold weather in the words.
HEATING_SEASON = ((10, 31), (5, 1))  # (month, day) first and last day, inclusive
NO_HEATING_IN_WINTER = HazardRule(
    "no_heating_winter",
    EMERGENCY,
    REPAIRS_LINE,
    _rx(_HEAT),
    unless=_rx(_PART_OF_HOME_HEATED),
)


def in_heating_season(day: date) -> bool:
    first, last = HEATING_SEASON
    return (day.month, day.day) >= first or (day.month, day.day) <= last


# Negation and the past: "no smell of gas now", "the leak last year was fixed". A hazard
# said not to be there, or over and done with, is not one; every other mention in the
# message still counts, and a hedge ("not sure if it's gas") is not a negation: a false
# alarm costs a call-back, a miss can cost a life.
_NEGATED_BEFORE = re.compile(
    r"(?:\bno|\bnot|n't|\bnever|\bno longer|\bwithout|\bzero|\bnid|\bdim)\s+"
    r"(?:[a-z']+\s+){0,2}$"
)
_HEDGE = re.compile(r"\b(?:sure|know|certain|think|whether|if|check|tell)\b")
_PAST_AFTER = re.compile(
    r"^[^.!?\n]{0,40}?\b(?:last (?:year|month|winter|summer|spring|autumn)|"
    r"(?:a |two |few |several |\d+ )?(?:years?|months?) ago|in (?:19|20)\d\d|"
    r"(?:was|were|has been|have been|got|had been) (?:all )?(?:fixed|repaired|sorted|resolved|"
    r"made safe|dealt with))"
)
_PAST_BEFORE = re.compile(r"\b(?:last (?:year|month|winter)'?s?|previous|earlier|old)\s+$")
_STILL_NOW = re.compile(r"\b(?:again|still|back|returned|recurr[a-z]*|came back|now)\b")
NEGATION_WINDOW = 30  # characters before a match read for "no", "not", "never"...
PAST_WINDOW = 80  # characters after a match read for "last year", "was fixed"...
MAX_MENTIONS = 20  # matches of one pattern examined: bounded work on hostile input


def _negated_or_past(folded: str, start: int, end: int) -> bool:
    before = folded[max(0, start - NEGATION_WINDOW) : start]
    if _NEGATED_BEFORE.search(before) and not _HEDGE.search(before):
        return True
    after = folded[end : end + PAST_WINDOW]
    if _PAST_AFTER.search(after) or _PAST_BEFORE.search(before):
        return _STILL_NOW.search(folded, end) is None
    return False


def _match(rule: HazardRule, text: str, folded: str) -> HazardMatch | None:
    for pattern in rule.patterns:
        for n, match in enumerate(pattern.finditer(folded)):
            if n >= MAX_MENTIONS:
                break
            if _negated_or_past(folded, match.start(), match.end()):
                continue
            if all(extra.search(folded) for extra in rule.also) and not any(
                veto.search(folded) for veto in rule.unless
            ):
                return HazardMatch(
                    rule.name, text[match.start() : match.end()].strip(), rule.signpost
                )
            return None
    return None


def find_hazards(text: str, *, today: date | None = None) -> tuple[HazardMatch, ...]:
    """Every hazard rule the text trips, in rule order (at most one match per rule).

    `today`, when given, is the day the message arrived: in the heating season a loss of
    heating or hot water is an emergency whoever reports it.
    """
    folded = fold(text)
    found = [m for rule in HAZARD_RULES if (m := _match(rule, text, folded)) is not None]
    if (
        today is not None
        and in_heating_season(today)
        and not any(m.rule == "no_heating_vulnerable" for m in found)
        and (winter := _match(NO_HEATING_IN_WINTER, text, folded)) is not None
    ):
        found.append(winter)
    names = {m.rule for m in found}
    return tuple(m for m in found if not SUPERSEDED_BY.get(m.rule, frozenset()) & names)


# An urgent "maybe" rule says nothing more once its emergency form has matched.
SUPERSEDED_BY: dict[str, frozenset[str]] = {
    "no_heating": frozenset({"no_heating_vulnerable", "no_heating_winter"}),
    "lift_out": frozenset({"lift"}),
    "leak": frozenset({"flooding", "water_electrics", "structure", "sewage"}),
    "partial_power": frozenset({"no_power", "electrics", "water_electrics"}),
}


def question_for(hazards: tuple[HazardMatch, ...]) -> str | None:
    """The one short question that tells whether an urgent hazard is an emergency, if any.

    None when a hazard already makes the message an emergency (nothing left to ask).
    """
    if urgency_floor(hazards) == EMERGENCY:
        return None
    for match in hazards:
        for rule in HAZARD_RULES:
            if rule.name == match.rule and rule.ask:
                return rule.ask
    return None


def hazard_level(rule_name: str) -> str:
    for rule in (*HAZARD_RULES, NO_HEATING_IN_WINTER):
        if rule.name == rule_name:
            return rule.level
    return ROUTINE


def urgency_floor(hazards: tuple[HazardMatch, ...]) -> str | None:
    """The least urgency the hazards allow: EMERGENCY, URGENT, or None when there are none."""
    levels = [hazard_level(h.rule) for h in hazards]
    if EMERGENCY in levels:
        return EMERGENCY
    if URGENT in levels:
        return URGENT
    return None


def find_needs(text: str) -> tuple[str, ...]:
    folded = fold(text)
    return tuple(name for name, pattern in NEED_RULES if pattern.search(folded))


MAX_ENTITIES_PER_LABEL = 50  # a real message has a handful; a pasted log must not cost O(n²)


def find_entities(text: str) -> tuple[Entity, ...]:
    taken: list[tuple[int, int]] = []
    found: list[Entity] = []
    for label, pattern in _ENTITY_RULES:
        for n, match in enumerate(pattern.finditer(text)):
            if n >= MAX_ENTITIES_PER_LABEL:
                break
            start, end = match.span()
            value = match.group(0)
            if label == "date":
                lowered = value.lower()
                for lead in _DATE_LEADS:
                    if lowered.startswith(lead):
                        start += len(lead)
                        value = value[len(lead) :]
                        break
            if label == "phone_number":
                digits = re.sub(r"\D", "", value)
                if len(digits) < 10:
                    continue
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue  # a phone number's digits are not also a date
            taken.append((start, end))
            found.append(Entity(label, value, start, end))
    return tuple(sorted(found, key=lambda e: e.start))


@dataclass(frozen=True, slots=True)
class RuleResult:
    """What the rules alone say about a message (also used by the Rasa engine)."""

    hazards: tuple[HazardMatch, ...]
    urgency: str | None  # the floor the hazards impose, None when they impose nothing
    needs: tuple[str, ...]
    entities: tuple[Entity, ...]
    language: str


def analyse(text: str, *, today: date | None = None) -> RuleResult:
    from bot.nlu.language import detect_language

    hazards = find_hazards(text, today=today)
    return RuleResult(
        hazards=hazards,
        urgency=urgency_floor(hazards),
        needs=find_needs(text),
        entities=find_entities(text),
        language=detect_language(text),
    )
