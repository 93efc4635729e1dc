"""Sensitive-information detectors for the guardrail engine: one pattern (and check) per PII type.

Bedrock detects PII with a context-aware ML model; here every type is a regular expression plus,
where the format has one, its checksum (Luhn, ABA, mod-97, VIN, NHS mod-11), so results are
predictable. Types whose values look like ordinary words or numbers are only detected after a
cue that says what follows ("my password is ...", "CVV 123"); see docs/guardrails.md for the
table. Every pattern is linear: candidates start only at a boundary, quantifiers are bounded or
possessive, so a long run of digits or letters is scanned once.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from qconnect_local.engine.retrieval import STOP_WORDS

# A check on a candidate's text: True keeps it.
Check = Callable[[str], bool]


@dataclass(frozen=True)
class Detector:
    """How one PII type is found: a pattern, the group holding the value, and a check."""

    type: str
    pattern: re.Pattern[str]
    check: Check | None = None
    group: str | int = 0
    # The length of the candidate's prefix that is the value (None: no value), for formats
    # whose candidate may run on (an IBAN followed by an upper-case word).
    fit: Callable[[str], int | None] | None = None
    # The pattern cannot match unless one of these occurs in the lower-cased text: a cheap
    # `in` test saves a regex scan for most texts (derived from the cue; empty: always scan).
    needles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Span:
    """One detected value: its type and where it is in the text."""

    type: str
    start: int
    end: int


# --- checksums ------------------------------------------------------------------------------------


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def luhn_valid(number: str) -> bool:
    """The Luhn (mod 10) check that card numbers and Canadian SINs carry."""
    digits = _digits(number)
    if not digits:
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


_CARD_PREFIXES: Final = re.compile(
    r"4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|3(?:0[0-5]|[68])|6(?:011|5|4[4-9]|2)|35(?:2[89]|[3-8])|5[06-9]"
)


def card_number_valid(value: str) -> bool:
    """13-19 digits with a known issuer prefix and a valid Luhn digit."""
    digits = _digits(value)
    return 13 <= len(digits) <= 19 and bool(_CARD_PREFIXES.match(digits)) and luhn_valid(digits)


_ROUTING_PREFIXES: Final = frozenset([*range(0, 13), *range(21, 33), *range(61, 73), 80])


def aba_valid(value: str) -> bool:
    """A US routing number: 9 digits, a Federal Reserve prefix and the 3-7-1 checksum."""
    d = [int(c) for c in _digits(value)]
    if len(d) != 9 or d[0] * 10 + d[1] not in _ROUTING_PREFIXES:
        return False
    return (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]) % 10 == 0


# Each country's IBAN length (the ISO 13616 registry).
IBAN_LENGTHS: Final[dict[str, int]] = {
    **dict.fromkeys(["NO"], 15),
    **dict.fromkeys(["BE"], 16),
    **dict.fromkeys(["DK", "FI", "FO", "GL", "NL", "SD"], 18),
    **dict.fromkeys(["MK", "SI"], 19),
    **dict.fromkeys(["AT", "BA", "EE", "KZ", "LT", "LU", "XK"], 20),
    **dict.fromkeys(["CH", "CR", "HR", "LI", "LV"], 21),
    **dict.fromkeys(["BG", "BH", "DE", "GB", "GE", "IE", "ME", "RS", "VA"], 22),
    **dict.fromkeys(["AE", "GI", "IL", "TL"], 23),
    **dict.fromkeys(["AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG"], 24),
    **dict.fromkeys(["PT", "ST"], 25),
    **dict.fromkeys(["IS", "TR"], 26),
    **dict.fromkeys(["FR", "GR", "IT", "MC", "MR", "SM"], 27),
    **dict.fromkeys(["AL", "AZ", "BY", "CY", "DO", "GT", "HU", "LB", "PL", "SV"], 28),
    **dict.fromkeys(["BR", "EG", "PS", "QA", "UA"], 29),
    **dict.fromkeys(["IQ", "JO", "KW", "MU"], 30),
    **dict.fromkeys(["MT", "SC"], 31),
    **dict.fromkeys(["LC"], 32),
    **dict.fromkeys(["RU"], 33),
}


def iban_valid(value: str) -> bool:
    """An IBAN: its country's length and the ISO 7064 mod-97 check."""
    compact = value.replace(" ", "").upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


_VIN_LETTER_VALUES: Final = (1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9)
_VIN_VALUES: Final = dict(
    zip("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", (*range(10), *_VIN_LETTER_VALUES), strict=True)
)
_VIN_WEIGHTS: Final = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_valid(value: str) -> bool:
    """A 17-character VIN with letters and digits and the North American check digit (9th)."""
    vin = value.upper()
    if len(vin) != 17 or vin.isdigit() or vin.isalpha():
        return False
    total = sum(_VIN_VALUES[ch] * weight for ch, weight in zip(vin, _VIN_WEIGHTS, strict=True))
    check = total % 11
    return vin[8] == ("X" if check == 10 else str(check))


def nhs_valid(value: str) -> bool:
    """A UK NHS number: 10 digits, the last a mod-11 check digit."""
    d = [int(c) for c in _digits(value)]
    if len(d) != 10:
        return False
    check = 11 - sum(x * w for x, w in zip(d[:9], range(10, 1, -1), strict=True)) % 11
    return (0 if check == 11 else check) == d[9]


def ssn_valid(value: str) -> bool:
    """A US SSN: area not 000, 666 or 9xx; group not 00; serial not 0000."""
    d = _digits(value)
    return len(d) == 9 and d[:3] not in ("000", "666") and d[0] != "9" and d[3:5] != "00" and d[5:] != "0000"


def itin_valid(value: str) -> bool:
    """A US ITIN: 9 digits starting 9, digits 4-5 in the IRS ranges 50-65, 70-88, 90-92, 94-99."""
    d = _digits(value)
    if len(d) != 9 or d[0] != "9":
        return False
    group = int(d[3:5])
    return 50 <= group <= 65 or 70 <= group <= 88 or 90 <= group <= 92 or 94 <= group <= 99


def sin_valid(value: str) -> bool:
    """A Canadian SIN: 9 digits, not starting 0 or 8, Luhn-valid."""
    d = _digits(value)
    return len(d) == 9 and d[0] not in "08" and luhn_valid(d)


def ipv6_valid(value: str) -> bool:
    """A valid IPv6 address with at least two non-empty groups ("::" alone and "a::" are not)."""
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return sum(1 for group in value.split(":") if group) >= 2


def mixed_secret(value: str) -> bool:
    """A 40-character secret key mixes upper case, lower case and digits (a SHA-1 hex does not)."""
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )


def iban_fit(candidate: str) -> int | None:
    """The candidate's prefix as long as its country's IBAN, when that prefix is valid."""
    length = IBAN_LENGTHS.get(candidate[:2])
    if length is None:
        return None
    seen = 0
    for index, char in enumerate(candidate):
        seen += char != " "
        if seen == length:
            end = index + 1
            if end < len(candidate) and candidate[end] != " ":
                return None  # the value would end inside a group
            return end if iban_valid(candidate[:end]) else None
    return None


# ISO 3166 alpha-2 codes, for the country part (5th-6th letters) of a SWIFT/BIC code.
COUNTRIES: Final = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC
    EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK
    HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB
    LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU
    RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN
    TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW""".split()  # noqa: SIM905
)


def swift_valid(value: str) -> bool:
    """A SWIFT/BIC code: 4 bank letters, a real country code, 2 location and 0 or 3 branch chars."""
    return len(value) in (8, 11) and value[4:6] in COUNTRIES


def has_digit(value: str) -> bool:
    """Identifiers cued by a word (passport, licence...) still need a digit: "expired" is not one."""
    return any(c.isdigit() for c in value)


# Words that follow "password is" / "username is" without being one.
NOT_A_CREDENTIAL: Final = frozenset(
    {
        *STOP_WORDS,
        *("not", "no", "never", "wrong", "incorrect", "invalid", "correct", "right", "expired", "locked"),
        *("blocked", "disabled", "missing", "forgotten", "lost", "same", "different", "required", "taken"),
        *("reset", "changed", "too", "case", "sensitive", "working", "long", "short", "weak", "strong"),
        *("rejected", "accepted", "fine", "ok", "okay", "unknown", "empty", "blank", "stolen", "compromised"),
    }
)


def credential(value: str) -> bool:
    """A cued password or user name is not a word that describes it ("is wrong", "is locked")."""
    return len(value) >= 3 and value.lower().strip(".,;:!?\"'") not in NOT_A_CREDENTIAL


def password_like(value: str) -> bool:
    """A cued password needs a digit or a symbol: "my password is secret" gives no value away."""
    return credential(value) and any(not c.isalpha() for c in value)


# --- patterns -------------------------------------------------------------------------------------

_I = re.IGNORECASE
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]{0,6}\.?"
# A cue, then up to a few non-digit characters (": ", " is ", " number is "), then the value.
_GAP = r"[^\S\n]*(?:(?:number|no\.?|num|#|code|is|was|:|=|-)[^\S\n]*){0,3}"
_VALUE_END = r"(?<![.,;:!?)\"'])"  # a value does not end with sentence punctuation


_SAYS = r"\s*(?:is|:|=)\s*"  # "password is x", "username: x": an explicit separator


def _cued(cue: str, value: str, gap: str = _GAP) -> re.Pattern[str]:
    """`value` (group v, case-sensitive) right after `cue` (any case) and a short gap."""
    return re.compile(rf"(?<!\w)(?i:{cue})(?!\w)(?i:{gap})(?P<v>{value})")


_CUE_START: Final = re.compile(r"\(\?<!\\w\)\(\?i:(.*?)\)\(\?!\\w\)")


def _top_level(alternation: str) -> list[str]:
    """The alternatives of a regex alternation, split only outside groups."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(alternation):
        depth += (char == "(") - (char == ")")
        if char == "|" and depth == 0:
            parts.append(alternation[start:index])
            start = index + 1
    return [*parts, alternation[start:]]


def _needles(detector: Detector) -> Detector:
    """A cued detector's needles: the first few letters of each cue alternative."""
    if detector.needles:
        return detector
    found = _CUE_START.match(detector.pattern.pattern)
    if found is None:
        return detector
    needles = tuple(sorted({re.split(r"[^a-z]", part)[0][:3] for part in _top_level(found.group(1))}))
    if min(map(len, needles)) < 2:
        return detector  # an alternative without a literal start: always scan
    return Detector(detector.type, detector.pattern, detector.check, detector.group, detector.fit, needles)


_PATTERNS: Final[tuple[Detector, ...]] = (
    Detector(
        "EMAIL",
        re.compile(
            r"(?<![\w.%+-])[\w.%+-]{1,64}+@(?:[a-z0-9](?:[a-z0-9-]{0,61}+(?<!-))?\.)+[a-z]{2,24}+(?![\w-])",
            _I,
        ),
        needles=("@",),
    ),
    Detector(
        "URL",
        re.compile(
            r"(?<![\w@/.-])(?:(?:https?|ftp)://[^\s<>\"'`]+"
            r"|(?:www\.)?(?:[a-z0-9-]{1,63}+\.)+"
            r"(?:com|org|net|edu|gov|mil|io|ai|app|dev|info|biz|shop|store|online|site)(?:\.[a-z]{2})?(?![\w@-])"
            r"(?:/[^\s<>\"'`]*+)?)" + _VALUE_END,
            _I,
        ),
    ),
    Detector(
        "AWS_ACCESS_KEY",
        re.compile(
            r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA|ABIA|ACCA)"
            r"[A-Z0-9]{16}(?![A-Z0-9])"
        ),
    ),
    Detector(
        "AWS_SECRET_KEY", re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"), mixed_secret
    ),
    Detector(
        "CREDIT_DEBIT_CARD_NUMBER",
        re.compile(r"(?<![\w.,-])\d(?:[ -]?\d){12,18}(?![\w-]|[.,]\d)"),
        card_number_valid,
    ),
    Detector(
        "CREDIT_DEBIT_CARD_EXPIRY",
        _cued(
            r"exp(?:iry|iration|ires|\.)?(?:\s+date)?|valid\s+(?:thru|through|until)|good\s+thru",
            rf"(?:0?[1-9]|1[0-2])\s?[/-]\s?(?:20)?\d\d(?!\d)|(?i:{_MONTHS})\s+(?:20)?\d\d(?!\d)",
        ),
        None,
        "v",
    ),
    Detector(
        "CREDIT_DEBIT_CARD_CVV",
        _cued(r"cvv2?|cvc2?|cid|csc|security\s+code|card\s+verification\s+(?:code|value)", r"\d{3,4}(?!\d)"),
        None,
        "v",
    ),
    Detector("PIN", _cued(r"pin(?:\s+(?:code|number))?", r"\d{4,6}(?!\d)"), None, "v"),
    Detector(
        "US_SOCIAL_SECURITY_NUMBER",
        re.compile(r"(?<![\w-])\d{3}([- ])\d{2}\1\d{4}(?![\w-])"),
        ssn_valid,
    ),
    Detector(
        "US_SOCIAL_SECURITY_NUMBER",
        _cued(r"ssn|social\s+security(?:\s+number)?|social", r"\d{9}(?!\d)"),
        ssn_valid,
        "v",
    ),
    Detector(
        "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
        re.compile(r"(?<![\w-])9\d{2}([- ])\d{2}\1\d{4}(?![\w-])"),
        itin_valid,
    ),
    Detector(
        "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
        _cued(r"itin|(?:individual\s+)?taxpayer\s+id(?:entification)?", r"9\d{8}(?!\d)"),
        itin_valid,
        "v",
    ),
    Detector(
        "US_BANK_ROUTING_NUMBER",
        _cued(r"routing|aba|rtn|transit", r"\d{9}(?!\d)"),
        aba_valid,
        "v",
    ),
    Detector(
        "US_BANK_ACCOUNT_NUMBER",
        _cued(r"(?:bank|checking|savings|chequing)\s+(?:account|acct)|acct", r"\d{6,17}(?!\d)"),
        None,
        "v",
    ),
    Detector(
        "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
        re.compile(r"(?<![\w-])[A-Z]{2}\d\d(?: ?[A-Z0-9]{1,4}+){3,8}+"),
        fit=iban_fit,
    ),
    Detector(
        "SWIFT_CODE",
        _cued(r"swift|bic", r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?(?![A-Za-z0-9])"),
        swift_valid,
        "v",
    ),
    Detector(
        "SWIFT_CODE",  # without a cue, only codes with a digit in the location part
        re.compile(r"(?<![A-Za-z0-9])[A-Z]{6}(?=[A-Z0-9]{0,1}\d)[A-Z0-9]{2}(?:[A-Z0-9]{3})?(?![A-Za-z0-9])"),
        swift_valid,
    ),
    Detector(
        "IP_ADDRESS",
        re.compile(
            r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
            r"(?!\w|\.\d)"
        ),
    ),
    Detector(
        "IP_ADDRESS",
        re.compile(
            r"(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}+(?:[0-9a-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:]|\.\w)",
            _I,
        ),
        ipv6_valid,
        needles=(":",),
    ),
    Detector(
        "MAC_ADDRESS",
        re.compile(
            r"(?<![\w:.-])(?:[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4})"
            r"(?![\w:-]|\.\w)",
            _I,
        ),
    ),
    Detector(
        "PHONE",
        re.compile(
            r"(?<![\w+/.-])(?:"
            # NANP with separators or parentheses: (212) 555-1234, 212-555-1234, +1 212.555.1234
            r"(?:\+?1[ .-]?)?(?:\([2-9]\d\d\)[ .-]?|[2-9]\d\d[ .-])[2-9]\d\d[ .-]\d{4}"
            # international with a plus: +44 20 7946 0958, +33 1 23 45 67 89, +12125551234
            r"|\+[1-9]\d{0,2}(?:[ .-]?\(?\d{1,4}+\)?){1,5}+"
            r")(?![\w-]|[.,/]\d)"
        ),
        lambda value: 8 <= len(_digits(value)) <= 15,
    ),
    Detector(
        "PHONE",
        _cued(
            r"phone|tel|telephone|mobile|cell|fax|call\s+me\s+(?:at|on)|text\s+me\s+(?:at|on)",
            r"\d{10,11}(?!\d)",
        ),
        None,
        "v",
    ),
    Detector(
        "UK_NATIONAL_INSURANCE_NUMBER",
        re.compile(
            r"(?<![\w-])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
            r"[ -]?\d\d[ -]?\d\d[ -]?\d\d[ -]?[A-D](?![\w-])",
            _I,
        ),
    ),
    Detector(
        "UK_NATIONAL_HEALTH_SERVICE_NUMBER", _cued(r"nhs", r"\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)"), nhs_valid, "v"
    ),
    Detector(
        "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER",
        _cued(r"utr|unique\s+tax(?:payer)?\s+reference|tax\s+reference", r"\d{5}[ ]?\d{5}(?!\d)"),
        None,
        "v",
    ),
    Detector(
        "CA_SOCIAL_INSURANCE_NUMBER", re.compile(r"(?<![\w-])\d{3}([- ])\d{3}\1\d{3}(?![\w-])"), sin_valid
    ),
    Detector(
        "CA_SOCIAL_INSURANCE_NUMBER",
        _cued(r"sin|social\s+insurance(?:\s+number)?", r"\d{9}(?!\d)"),
        sin_valid,
        "v",
    ),
    Detector(
        "CA_HEALTH_NUMBER",
        _cued(
            r"health\s+(?:card|number|insurance)|ohip", r"\d{4}[ -]?\d{3}[ -]?\d{3}(?:[ -]?[A-Z]{2})?(?![\w])"
        ),
        None,
        "v",
    ),
    Detector(
        "VEHICLE_IDENTIFICATION_NUMBER",
        re.compile(r"(?<![A-Za-z0-9])[A-HJ-NPR-Z0-9]{17}(?![A-Za-z0-9])", _I),
        vin_valid,
    ),
    Detector("US_PASSPORT_NUMBER", _cued(r"passport", r"[A-Z0-9]{6,9}(?![A-Za-z0-9])"), has_digit, "v"),
    Detector(
        "DRIVER_ID",
        _cued(
            r"driver'?s?\s+licen[cs]e|driving\s+licen[cs]e|dl", r"[A-Z0-9][A-Z0-9-]{3,18}[A-Z0-9](?![\w-])"
        ),
        has_digit,
        "v",
    ),
    Detector(
        "LICENSE_PLATE",
        _cued(
            r"(?:licen[cs]e|number|registration)\s+plate|plate", r"[A-Z0-9]{1,4}[ -]?[A-Z0-9]{2,5}(?![\w-])"
        ),
        has_digit,
        "v",
    ),
    Detector(
        "PASSWORD",
        _cued(r"password|passcode|passwd|pwd", r"[^\s{}]{1,128}" + _VALUE_END, _SAYS),
        password_like,
        "v",
    ),
    Detector(
        "USERNAME",
        _cued(r"user\s*name|user\s*id|login|screen\s+name|handle", r"@?[\w.+-]{1,64}" + _VALUE_END, _SAYS),
        credential,
        "v",
    ),
    Detector(
        "AGE",
        re.compile(
            r"(?<!\w)(?:aged|age(?:\s*(?:is|:|of))?)\s+(?P<v>\d{1,3})(?!\d)"
            r"|(?<!\w)(?:i\s+am|i'm|im|he\s+is|she\s+is|he's|she's)\s+(?P<w>\d{1,3}\s*(?:years?|yrs?))(?!\w)",
            _I,
        ),
        None,
        "age",
    ),
    Detector(
        "NAME",
        re.compile(
            r"(?<!\w)(?i:my\s+name\s+is|name\s*:)\s+(?P<v>[A-Z][a-z'-]{1,30}+(?:\s+[A-Z][a-z'-]{1,30}+){0,2})"
        ),
        None,
        "v",
    ),
    Detector(
        "ADDRESS",
        re.compile(
            r"(?<!\w)\d{1,6}(?:\s+[A-Z][a-z]{1,20}+){1,4}\s+"
            r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Parkway)"
            r"(?!\w)"
        ),
    ),
)

DETECTORS: Final = tuple(_needles(detector) for detector in _PATTERNS)

# Types that have at least one detector; the others (none today) pass through undetected.
DETECTED_TYPES: Final = frozenset(detector.type for detector in DETECTORS)


def _value_span(detector: Detector, match: re.Match[str]) -> tuple[int, int] | None:
    if detector.group == "age":  # two alternatives, two groups
        name = "v" if match.group("v") is not None else "w"
        return match.span(name)
    start, end = match.span(detector.group)
    return (start, end) if end > start else None


def find(text: str, types: frozenset[str]) -> Iterator[Span]:
    """Every value of the given types in `text`, detector by detector (overlaps included)."""
    lowered = text.lower()
    for detector in DETECTORS:
        if detector.type not in types or (
            detector.needles and not any(n in lowered for n in detector.needles)
        ):
            continue
        for match in detector.pattern.finditer(text):
            span = _value_span(detector, match)
            if span is not None and detector.fit is not None:
                length = detector.fit(text[span[0] : span[1]])
                span = None if length is None else (span[0], span[0] + length)
            if span is None:
                continue
            if detector.check is None or detector.check(text[span[0] : span[1]]):
                yield Span(detector.type, *span)
