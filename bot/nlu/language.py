"""Which language a message is in (ACCESS: different languages and formats).

Most messages are English, and lingua's models take a couple of seconds and some memory to
load, so English is recognised first by its function words, and lingua is built only when a
message does not look English, once per process. Short texts say too little for any detector
("ok", "ta", "no") and default to English.
"""

from __future__ import annotations

import re
import threading
from typing import Any

# Languages a UK social landlord's residents commonly write in; a closed set keeps lingua
# from guessing Tagalog for an English typo.
_LANGUAGE_NAMES = (
    "ENGLISH",
    "WELSH",
    "POLISH",
    "ROMANIAN",
    "URDU",
    "ARABIC",
    "SOMALI",
    "PORTUGUESE",
    "SPANISH",
    "FRENCH",
    "BENGALI",
    "PUNJABI",
    "LITHUANIAN",
    "TURKISH",
    "GUJARATI",
    "PERSIAN",
    "UKRAINIAN",
    "RUSSIAN",
    "ITALIAN",
    "CHINESE",
)
MIN_CHARS = 12  # below this a detector is guessing
MIN_WORDS = 3
# lingua's low-accuracy mode (trigrams only) is sure of itself on short texts even when
# wrong, so a guess must be confident, and the English vocabulary check comes first.
MIN_CONFIDENCE = 0.5

_ENGLISH_TEXT = (
    # function words and SMS forms
    "the a an and or but is are was were be been being my our your i i'm im me we you he she "
    "it its it's they them their this that these those there here have has had not no nope "
    "yes yeah to of in on at for with from by up down out off over under about into onto "
    "can can't cant will won't wont would should could please pls plz thanks thank thx ta "
    "hi hello hiya still since when what why how who which where do does did don't dont "
    "doesnt isnt just got get getting need needs want wants now again also very really so "
    "too all any some every one two three after before back been going gone keep keeps "
    "u ur r im ive its cos asap tmrw wiv abt some1 any1 ok okay nobody anyone someone "
    # what residents write about
    "gas smell smells leak leaking leaks water hot cold heating heater boiler radiator "
    "radiators shower bath toilet loo sink tap taps drain blocked broken broke fix fixed "
    "fixing repair repairs damp mould mold mouldy wall walls ceiling floor roof window "
    "windows door doors lock front kitchen bathroom bedroom living room hall stairs lift "
    "light lights socket sockets electric electrics power fuse wires fire smoke alarm "
    "neighbour neighbours neighbor noise noisy music loud dog rubbish bins parking car "
    "rent pay paid payment account benefit council flat house home property tenancy "
    "appointment cancel change engineer plumber contractor someone help urgent emergency "
    "complaint complain waiting week weeks month months day days today tomorrow yesterday "
    "night morning monday tuesday wednesday thursday friday saturday sunday number call "
    "phone email letter reported report problem issue working work baby kids child "
    "flooding flooded burst sewage pipe pipes crack cracked coming through everywhere "
    "garden fence gate bin stairwell block estate office hours open opening closed "
    # everyday words
    "done bye goodbye cheers mate love thats that's what's there's sorry know think see "
    "look come came said say tell told let make made take took like than then only other "
    "more much many first last next same way thing things lot bit nothing something "
    "everything ever never always because if as while until yet already though right "
    "left good great fine well new old long little big time times year years ago "
    "went put send sent again ring rang called asked wait waited waiting tried try"
)
_ENGLISH_WORDS = frozenset(_ENGLISH_TEXT.split())
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

_lock = threading.Lock()
_detector: Any = None


def _build_detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, name) for name in _LANGUAGE_NAMES]
    # Low-accuracy mode: ~20 MB of trigram models instead of ~275 MB for all n-gram sizes.
    builder = LanguageDetectorBuilder.from_languages(*languages)
    return builder.with_low_accuracy_mode().build()


def _get_detector() -> Any:
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                _detector = _build_detector()
    return _detector


def looks_english(words: list[str]) -> bool:
    hits = sum(1 for w in words if w in _ENGLISH_WORDS)
    return hits >= 2 and hits * 4 >= len(words)


def detect_language(text: str) -> str:
    """ISO 639-1 code of the message's language; "en" when unsure."""
    sample = text[:2000]
    words = _WORD.findall(sample.lower())
    if len(sample.strip()) < MIN_CHARS or len(words) < MIN_WORDS:
        return "en"
    if looks_english(words):
        return "en"
    results = _get_detector().compute_language_confidence_values(sample)
    if not results:
        return "en"
    best = results[0]
    if best.value < MIN_CONFIDENCE:
        return "en"
    return str(best.language.iso_code_639_1.name).lower()
