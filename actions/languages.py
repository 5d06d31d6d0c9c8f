"""Which language(s) a message to a resident is written in (ACCESS: "providing information in
different languages"; Welsh Language Standards 1, 2 and 4: answer Welsh in Welsh, ask the
preference on the first system-generated message and record it, send Welsh where it is
unknown). Pure: the stored preference and the detected language come in, a `Voice` goes out.
docs/cymraeg.md explains the rules for landlords.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Organisation

WELSH = "cy"
ENGLISH = "en"

# Who set a contact's language: the detector, the resident (CYMRAEG / ENGLISH), or staff.
DETECTED = "detected"
RESIDENT = "resident"
STAFF = "staff"
CHOSEN = frozenset({RESIDENT, STAFF})

# Names shown to staff, for every language the detector can name (bot/nlu/language.py).
LANGUAGE_NAMES = {
    "en": "English",
    "cy": "Welsh (Cymraeg)",
    "pl": "Polish",
    "ro": "Romanian",
    "ur": "Urdu",
    "ar": "Arabic",
    "so": "Somali",
    "pt": "Portuguese",
    "es": "Spanish",
    "fr": "French",
    "bn": "Bengali",
    "pa": "Punjabi",
    "lt": "Lithuanian",
    "tr": "Turkish",
    "gu": "Gujarati",
    "fa": "Persian (Farsi)",
    "uk": "Ukrainian",
    "ru": "Russian",
    "it": "Italian",
    "zh": "Chinese",
}

# One short line in the resident's language: how to ask for an interpreter or a translated
# letter. "{phone}" is our number. The acknowledgement itself stays in English (we cannot
# promise a translated answer by the deadline); this line is what makes help reachable.
# Each says: "Do you need an interpreter or a letter in <language>? Call us on {phone}."
# They were written from the phrasing UK councils' "language line" panels use; a fluent
# speaker of each should review them (docs/cymraeg.md, "Other languages").
INTERPRETER_LINES = {
    "pl": "Potrzebujesz tłumacza lub listu po polsku? Zadzwoń do nas: {phone}.",
    "ro": "Aveți nevoie de un interpret sau de o scrisoare în limba română? Sunați-ne la {phone}.",
    "ur": "کیا آپ کو ترجمان یا اردو میں خط چاہیے؟ ہمیں {phone} پر فون کریں۔",
    "ar": "هل تحتاج إلى مترجم أو رسالة باللغة العربية؟ اتصل بنا على {phone}.",
    "so": "Ma u baahan tahay turjubaan ama warqad af Soomaali ah? Na soo wac {phone}.",
    "pt": "Precisa de um intérprete ou de uma carta em português? Ligue-nos: {phone}.",
    "es": "¿Necesita un intérprete o una carta en español? Llámenos al {phone}.",
    "fr": "Besoin d'un interprète ou d'une lettre en français ? Appelez-nous au {phone}.",
    "bn": "আপনার কি দোভাষী বা বাংলায় চিঠি দরকার? আমাদের {phone} নম্বরে ফোন করুন।",
    "pa": "ਕੀ ਤੁਹਾਨੂੰ ਦੁਭਾਸ਼ੀਏ ਜਾਂ ਪੰਜਾਬੀ ਵਿੱਚ ਚਿੱਠੀ ਦੀ ਲੋੜ ਹੈ? ਸਾਨੂੰ {phone} 'ਤੇ ਫ਼ੋਨ ਕਰੋ।",
    "lt": "Reikia vertėjo ar laiško lietuvių kalba? Skambinkite mums {phone}.",
    "tr": "Tercümana veya Türkçe bir mektuba mı ihtiyacınız var? Bizi {phone} numarasından arayın.",
    "gu": "શું તમને દુભાષિયા અથવા ગુજરાતીમાં પત્રની જરૂર છે? અમને {phone} પર ફોન કરો.",
    "fa": "آیا به مترجم یا نامه‌ای به فارسی نیاز دارید؟ با ما به شماره {phone} تماس بگیرید.",
    "uk": "Потрібен перекладач або лист українською? Зателефонуйте нам: {phone}.",
    "ru": "Нужен переводчик или письмо на русском языке? Позвоните нам: {phone}.",
    "it": "Ha bisogno di un interprete o di una lettera in italiano? Ci chiami al {phone}.",
    "zh": "需要口译员或中文信件吗？请致电 {phone}。",
}

# Whole-message words a resident sends to choose (the offer names CYMRAEG and ENGLISH).
CHOICE_WORDS = {
    "CYMRAEG": WELSH,
    "WELSH": WELSH,
    "ENGLISH": ENGLISH,
    "SAESNEG": ENGLISH,
}


@dataclass(frozen=True, slots=True)
class Voice:
    """How to write one message: its languages in order, the language of an interpreter line
    (a language we do not write in), and whether to ask the resident's preference."""

    languages: tuple[str, ...] = (ENGLISH,)
    interpreter: str | None = None
    offer: bool = False

    @property
    def primary(self) -> str:
        return self.languages[0]

    @property
    def bilingual(self) -> bool:
        return len(self.languages) > 1

    def without_offer(self) -> Voice:
        """Only the first reply asks the question; a second message sent with it does not."""
        return Voice(self.languages, self.interpreter, offer=False)


ENGLISH_ONLY = Voice()


def choose_voice(
    org: Organisation,
    *,
    preference: str | None = None,
    source: str | None = None,
    detected: str | None = None,
    first: bool = False,
) -> Voice:
    """The voice for a message to a resident.

    `preference`/`source` are what the contact has stored; `detected` is the language of
    the message being answered (None for a message staff start). `first`: this is a
    system-generated first reply (an acknowledgement), where the preference is asked for
    while it is unknown.
    """
    wales = WELSH in org.languages
    welsh_then = (WELSH, ENGLISH) if org.welsh_replies_with_english else (WELSH,)
    if preference and source in CHOSEN:
        # The resident (or staff on their behalf) said which: that is all they get.
        if preference == WELSH:
            return Voice((WELSH,))
        if preference == ENGLISH:
            return ENGLISH_ONLY
        return Voice((ENGLISH,), interpreter=_interpreter(preference))
    language = detected or preference
    offer = first and (wales or language == WELSH)
    if language == WELSH:
        return Voice(welsh_then, offer=offer)
    if wales:
        order = (WELSH, ENGLISH) if org.welsh_first else (ENGLISH, WELSH)
        return Voice(order, interpreter=_interpreter(language), offer=offer)
    return Voice((ENGLISH,), interpreter=_interpreter(language))


def _interpreter(language: str | None) -> str | None:
    return language if language in INTERPRETER_LINES else None


def interpreter_line(language: str, phone: str) -> str | None:
    line = INTERPRETER_LINES.get(language)
    return line.format(phone=phone) if line is not None else None


def language_name(code: str | None) -> str:
    if not code:
        return "Not known"
    return LANGUAGE_NAMES.get(code.lower(), code)


def short_language_name(code: str) -> str:
    """The name without its gloss ("Welsh", not "Welsh (Cymraeg)"), for a flag in a list."""
    return language_name(code).split(" (", 1)[0]


def language_choice(text: str) -> str | None:
    """ "cy" or "en" when the message is only a choice word (CYMRAEG, ENGLISH), as sent by
    text, typed in the chat or written at the top of an email reply above the quote."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(">") or line.endswith("wrote:") or line.startswith("-----"):
            break  # the quoted message we sent
        if line:
            lines.append(line)
    if len(lines) != 1:
        return None
    word = lines[0].strip(".!?,;:'\"()").strip().upper()
    return CHOICE_WORDS.get(word)
