"""Word-sequence matching for the guardrail engine, and the content-filter lexicons.

Bedrock classifies harmful content with ML models and reports a confidence (NONE, LOW, MEDIUM,
HIGH) per category. Here a category's confidence is the highest level of the cues found in the
text: a cue is a short sequence of words written in a tiny notation, so the lexicons read like
the rules they are:

- words are separated by spaces and matched as whole words (`store.search.words`: any case,
  diacritics ignored; "you're" is the two words `you re`);
- `a|b|c` is one position with alternatives; a trailing `?` makes a position optional;
- `{person}` stands for a word class below;
- every word of at least 4 letters also matches its regular inflections
  (`retrieval.variants`: `kill` matches kills, killed, killing).

Matching indexes the cues by their first word, so a text is scanned once (linear time).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from qconnect_local.engine.retrieval import variants
from qconnect_local.store.search import words

T = TypeVar("T")

Slot = frozenset[str]


@dataclass(frozen=True)
class Hit(Generic[T]):
    """A cue found in a word list: its payload and the word positions it covers."""

    payload: T
    start: int
    end: int


class PhraseIndex(Generic[T]):
    """Word sequences to find in a text's words, indexed by their first word."""

    def __init__(self) -> None:
        self._by_first: dict[str, list[tuple[tuple[Slot, ...], T]]] = {}

    def add(self, slots: Sequence[Slot], payload: T) -> None:
        """Add one sequence (each position a set of accepted words)."""
        if not slots:
            return
        rest = tuple(slots[1:])
        for word in slots[0]:
            self._by_first.setdefault(word, []).append((rest, payload))

    def __bool__(self) -> bool:
        return bool(self._by_first)

    def find(self, tokens: Sequence[str]) -> Iterator[Hit[T]]:
        """Every occurrence of every sequence in `tokens` (overlapping ones included)."""
        by_first = self._by_first
        count = len(tokens)
        for index, token in enumerate(tokens):
            candidates = by_first.get(token)
            if not candidates:
                continue
            for rest, payload in candidates:
                end = index + 1 + len(rest)
                if end <= count and all(tokens[index + 1 + k] in slot for k, slot in enumerate(rest)):
                    yield Hit(payload, index, end)


def literal_slots(text: str) -> tuple[Slot, ...]:
    """A phrase as exact words (word filters: no inflections)."""
    return tuple(frozenset([word]) for word in words(text))


def _inflected(word: str) -> frozenset[str]:
    return frozenset(variants(word))


def cue_slots(cue: str, classes: Mapping[str, frozenset[str]]) -> list[tuple[Slot, ...]]:
    """A cue in the notation above as its word sequences (one per choice of optional positions)."""
    positions: list[tuple[Slot, bool]] = []
    for part in cue.split():
        optional = part.endswith("?")
        part = part.rstrip("?")
        if part.startswith("{"):
            accepted = classes[part.strip("{}")]
        else:
            accepted = frozenset(form for word in part.split("|") for form in _inflected(word))
        positions.append((accepted, optional))
    optional_indexes = [i for i, (_, optional) in enumerate(positions) if optional]
    sequences = []
    for dropped in itertools.product((False, True), repeat=len(optional_indexes)):
        skip = {i for i, drop in zip(optional_indexes, dropped, strict=True) if drop}
        sequence = tuple(slot for i, (slot, _) in enumerate(positions) if i not in skip)
        if sequence:
            sequences.append(sequence)
    return sequences


def _class(text: str) -> frozenset[str]:
    return frozenset(form for word in text.split() for form in _inflected(word))


CLASSES: Final[dict[str, frozenset[str]]] = {
    "person": _class(
        "you u ya him her them myself yourself yourselves himself herself themselves everyone everybody "
        "people someone somebody anyone anybody family kids children wife husband boss manager agent neighbor"
    ),
    "group": _class(
        "immigrants foreigners refugees muslims jews christians catholics hindus sikhs buddhists atheists "
        "blacks whites asians latinos hispanics mexicans arabs africans chinese indians gays lesbians "
        "homosexuals transgender trans women men girls disabled"
    ),
    "dehuman": _class(
        "animals vermin rats cockroaches subhuman inferior parasites savages scum filth disease trash "
        "garbage monkeys apes disgusting criminals terrorists"
    ),
    "insult": _class(
        "idiot idiots moron morons imbecile cretin dimwit halfwit nitwit buffoon numbskull bonehead airhead "
        "ignoramus simpleton fool loser jerk clown stupid dumb pathetic worthless useless incompetent liar "
        "disgrace dumbass"
    ),
    "harm": _class("kill murder stab shoot strangle punch torture behead slaughter choke assault"),
    "place": _class(
        "building office store shop school plane airport station church mosque synagogue temple mall bank"
    ),
    "crime": _class(
        "steal shoplift hack counterfeit forge smuggle bribe embezzle pickpocket defraud poison kidnap"
    ),
}

LOW, MEDIUM, HIGH = 1, 2, 3
LEVEL_NAMES: Final = {0: "NONE", LOW: "LOW", MEDIUM: "MEDIUM", HIGH: "HIGH"}

# category -> level -> cues
LEXICONS: Final[dict[str, dict[int, tuple[str, ...]]]] = {
    "HATE": {
        HIGH: (
            "{group} are|r all? {dehuman}",
            "{group} are|r not human",
            "all {group} are|r {dehuman}",
            "i hate|despise all? {group}",
            "kill|exterminate|deport all? the? {group}",
            "death to {group}",
            "{group} should die|burn",
            "{group} don t deserve to live",
        ),
        MEDIUM: (
            "subhuman",
            "ethnic cleansing",
            "white supremacy|supremacist|power",
            "master race",
            "go back to your country",
            "all {group} are|r",
        ),
        LOW: ("racist", "bigot", "bigoted", "sexist", "xenophobic", "homophobic", "bigotry"),
    },
    "INSULTS": {
        HIGH: (
            "you are|re so|such|really|totally|completely? a|an? {insult}",
            "you {insult}",
            "{insult} like you",
            "shut up you",
            "nobody likes you",
            "go to hell",
        ),
        MEDIUM: (
            "idiot",
            "moron",
            "imbecile",
            "cretin",
            "dimwit",
            "halfwit",
            "nitwit",
            "buffoon",
            "numbskull",
            "loser",
            "shut up",
            "screw you",
            "waste of space",
            "piece of garbage|trash",
        ),
        LOW: ("stupid", "dumb", "pathetic", "useless", "incompetent", "clueless", "worthless", "ignorant"),
    },
    "SEXUAL": {
        HIGH: (
            "porn",
            "porno",
            "pornography",
            "pornographic",
            "xxx",
            "blowjob",
            "handjob",
            "orgasm",
            "masturbate",
            "masturbation",
            "nudes",
            "erotica",
            "hentai",
            "sexting",
            "have|having sex",
            "sex with me|you",
            "nude|naked photos|pics|pictures|selfies",
            "take off your clothes",
        ),
        MEDIUM: (
            "horny",
            "aroused",
            "erotic",
            "sexy",
            "intercourse",
            "make love",
            "seductive",
            "stripper",
            "fetish",
            "kinky",
            "one night stand",
            "sexual fantasy|fantasies",
        ),
        LOW: (
            "sex",
            "sexual",
            "sexually",
            "naked",
            "nude",
            "lingerie",
            "sensual",
            "flirt",
            "flirting",
            "kiss me",
        ),
    },
    "VIOLENCE": {
        HIGH: (
            "{harm} {person}",
            "i|we will|ll|gonna {harm}",
            "i|we will|ll|gonna|wanna hurt|beat you|him|her|them",
            "beat you|him|her|them up",
            "bomb the|this|that|your|a {place}",
            "blow up the|this|that|your|a {place}",
            "mass|school shooting",
            "rape",
            "genocide",
            "break your legs|neck|face|arms",
            "burn down? your house|store|office|shop",
        ),
        MEDIUM: (
            "murder",
            "massacre",
            "bloodshed",
            "bloodbath",
            "slaughter",
            "torture",
            "behead",
            "stabbing",
            "strangle",
            "beat up",
            "beaten up",
            "bomb threat",
        ),
        LOW: (
            "gun",
            "guns",
            "firearm",
            "rifle",
            "pistol",
            "weapon",
            "violent",
            "violence",
            "fistfight",
            "brawl",
            "explosive",
            "ammo",
            "ammunition",
        ),
    },
    "MISCONDUCT": {
        HIGH: (
            "how to {crime}",
            "how do|can|could|would|should i|we|one {crime}",
            "help me {crime}",
            "teach me how? to? {crime}",
            "i want|wanna|need|plan to? {crime}",
            "make|build|cook a|an? bomb|explosives|meth|poison",
            "buy|sell|get illegal drugs",
            "buy|sell|get cocaine|heroin|meth",
            "buy|sell|get guns|weapons|drugs illegally",
            "launder money",
            "evade|dodge taxes",
            "fake|forged passport|passports|id|ids|documents",
            "use|buy|sell stolen credit|debit? card|cards",
        ),
        MEDIUM: (
            "money laundering",
            "tax evasion",
            "insider trading",
            "drug dealer",
            "buy|sell drugs",
            "shoplifting",
            "bribery",
            "embezzlement",
            "piracy",
            "smuggling",
            "black market",
            "dark web",
            "without getting caught",
        ),
        LOW: (
            "illegal",
            "illegally",
            "cocaine",
            "heroin",
            "meth",
            "methamphetamine",
            "narcotics",
            "contraband",
        ),
    },
    "PROMPT_ATTACK": {
        HIGH: (
            "ignore|disregard|forget|override|bypass all? the|your|any? "
            "previous|prior|above|earlier|preceding|original|system "
            "instructions|instruction|prompts|prompt|rules|directions|guidelines",
            "ignore|disregard all instructions|rules",
            "disregard|override|bypass your|the|all? rules|instructions|guidelines|restrictions|programming",
            "you are|re now dan|jailbroken|unrestricted|unfiltered|uncensored|evil",
            "do anything now",
            "god|dan|jailbreak mode",
            "jailbreak",
            "jailbroken",
            "reveal|print|output|repeat|display|leak|dump|show your|the system "
            "prompt|instructions|message|rules",
            "repeat the words|text above",
            "pretend you are|re a|an? unrestricted|unfiltered|uncensored|evil",
            "pretend to be a|an? unrestricted|unfiltered|uncensored|evil",
            "act as a|an? unrestricted|unfiltered|uncensored|evil|jailbroken",
            "no longer bound by",
        ),
        MEDIUM: (
            "system prompt",
            "ignore|forget your rules|instructions|guidelines|programming",
            "your initial|original|hidden|secret instructions|prompt",
            "ignore the above",
            "from now on you are|re|will",
            "stay in character",
            "without any|all restrictions|filters|guardrails",
        ),
        LOW: (
            "pretend you are|re",
            "roleplay|role play as",
            "act as if",
            "hypothetically speaking",
            "developer mode",
        ),
    },
}


@dataclass(frozen=True)
class Cue:
    """What a content cue found means: its category, its level and how it was written."""

    category: str
    level: int
    text: str


def content_index(categories: frozenset[str]) -> PhraseIndex[Cue]:
    """One index over the cues of the given categories."""
    index: PhraseIndex[Cue] = PhraseIndex()
    for category in sorted(categories):
        for level, cues in LEXICONS[category].items():
            for cue in cues:
                for slots in cue_slots(cue, CLASSES):
                    index.add(slots, Cue(category, level, cue))
    return index
