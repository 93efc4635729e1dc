"""The managed PROFANITY word list: common English profanity, with its usual inflections.

Bedrock's list is not published; this one is deliberately moderate. Words whose ordinary sense is
innocent in customer service (ass, cock, screw, balls, bloody, hell, crack, pussy) are left out:
add them as custom words when a deployment wants them blocked. Matched as whole words, any case.
"""

from __future__ import annotations

from typing import Final

PROFANITY: Final[tuple[str, ...]] = (
    *("fuck", "fucks", "fucked", "fucker", "fuckers", "fucking", "fuckin", "fuckup", "fuckface", "fuckhead"),
    *("motherfucker", "motherfuckers", "motherfucking", "mofo", "wtf", "stfu", "gtfo", "fml", "fu"),
    *("shit", "shits", "shitty", "shitting", "shithead", "shitheads", "shithole", "bullshit", "horseshit"),
    *("dipshit", "batshit", "apeshit", "shitload", "shitstorm", "shite"),
    *("bitch", "bitches", "bitching", "bitchy", "sonofabitch", "son of a bitch"),
    *("asshole", "assholes", "arsehole", "arseholes", "arse", "jackass", "dumbass", "smartass", "asshat"),
    *("bastard", "bastards", "damn", "damned", "dammit", "damnit", "goddamn", "goddamned", "goddammit"),
    *("crap", "crappy", "piss", "pissed", "pissing", "piss off", "pisses"),
    *("dick", "dicks", "dickhead", "dickheads", "prick", "pricks", "cunt", "cunts", "twat", "twats"),
    *("wanker", "wankers", "wank", "tosser", "bollocks", "bugger", "sod off", "knobhead"),
    *("douche", "douchebag", "douchebags", "scumbag", "slut", "sluts", "whore", "whores", "skank"),
    *("cocksucker", "cocksuckers", "jerkoff", "jerk off", "bellend", "minger", "feck", "frigging"),
)
