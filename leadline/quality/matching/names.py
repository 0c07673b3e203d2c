"""Comparison keys for people, companies, e-mail addresses, phones and places.

Every function maps one raw string to a normalised key (or ``None`` when nothing usable is left).
They are pure and cheap, and the batch path calls them once per *distinct* raw value, so a
million records cost only as much as their distinct values.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Nickname groups written for Leadline: the first word is the group key, the rest are given
# names and diminutives that people use interchangeably with it. A name listed in two groups
# keeps the first. Ambiguous short forms (chris, alex, sam, pat...) are their own group key so
# that both the male and the female long forms meet them.
_NICKNAME_GROUPS = """
abigail abby abbie gail
abraham abe bram
adam ad
adrian adi
albert al bertie
alexander alex alec alexandra alexandria sandy sasha xander lex alessandro alejandro alexandre
alfred alf alfie
alice ali allie alicia
allison allie alison
amanda mandy manda
andrew andy drew andre andreas andres andrea
angela angie angelina
anne ann annie anna nan nancy anita hannah
anthony tony antonio anton antoine
arthur art artie
barbara barb barbie babs
benjamin ben benny benji benito
bernard bernie bernhard bernardo
beverly bev
bradley brad
brian bryan
caroline carol carrie carolina carole
catherine kate katie cathy kathy katherine kathryn cat kat kay kitty katharina catalina caterina
charles charlie chuck chas carl karl carlos carlo charlotte lottie
christian chris christopher kris kristopher christine christina kristina kristin tina topher
cristina christoph cristian cristobal
clifford cliff
cynthia cindy
daniel dan danny dani daniela danielle
david dave davey davy
deborah debbie deb debra
dennis denny
dolores lola lolita
donald don donnie
dorothy dot dottie dora
douglas doug
edward ed eddie ted teddy ned eduardo edouard
eleanor ellie nell nellie elle elena helen helena ellen
elizabeth liz lizzie beth betty betsy eliza liza lisa elise elsa isabel isabella bella izzy
isabelle elisabeth
emily em emmy emilia emilie
eugene gene
frances fran francesca
francis frank frankie francisco paco pancho franz francois francesco
frederick fred freddy fritz friedrich federico
gabriel gabe gabriela gabrielle gaby
gerald gerry jerry gerard
gregory greg
harold hal
henry hank harry henri enrique heinrich
herbert herb
jacob jake jakob
james jim jimmy jamie jaime
jane janet janie
jennifer jen jenny jenna
jessica jess jessie
joanna jo joanne johanna joan
john jack johnny jon juan johannes hans giovanni johann ivan sean
jonathan jon jonny
joseph joe joey jose pepe giuseppe beppe josef sepp jo
joshua josh
judith judy
julia julie juliet juliette giulia
katrina trina
kenneth ken kenny
laurence larry laurie lawrence lorenzo laurent
leonard leo len lenny leon leonardo
lorraine lori
louis lou louie luis luigi ludwig
lucy lucia lu
margaret maggie meg peggy marge margie greta margarita marguerite margot daisy
maria mary marie mia mimi molly polly marianne mariana
matthew matt matty mateo matteo mathieu matthias
maxwell max maximilian maxime massimo
michael mike mikey mick mickey miguel michel michele mikhail misha
nathan nate nathaniel
nicholas nick nicky nico nicolas nicola niklas klaus
oliver ollie olivia liv
patrick pat paddy patricia patty trish tricia patrizia
peter pete pedro pierre pietro
philip phil pip felipe philippe filippo
rebecca becky becca
richard rick ricky dick rich richie ricardo riccardo
robert rob bob bobby robbie roberto robin
ronald ron ronnie
rosemary rose rosie rosa
samuel sam sammy samantha sammie
sarah sara sally sadie
stephen steve stevie steven stephan stefan esteban stefano etienne stephanie steph
susan sue susie suzanne susanna suzy
terence terry teresa tess tessa theresa
thomas tom tommy thom tomas tommaso
timothy tim timmy
valerie val valentina
victoria vicky tori
vincent vince vinny vincenzo
virginia ginny ginger
walter walt
william bill billy will willy liam willem wilhelm guillermo guillaume
zachary zach zack
"""


def _build_nicknames() -> dict[str, str]:
    table: dict[str, str] = {}
    for line in _NICKNAME_GROUPS.strip().splitlines():
        words = line.split()
        for word in words:
            table.setdefault(word, words[0])
    return table


NICKNAMES = _build_nicknames()

_TITLES = frozenset("mr mrs ms miss mx dr prof sir dame herr frau sr sra srta mme mlle".split())
_NAME_SUFFIXES = frozenset("jr jnr sr snr ii iii iv phd md esq".split())

# Legal-form words dropped from the end (and "the" from the start) of company names. Dotted
# forms (s.l., s.a.r.l.) lose their dots before this test, so "sl" and "sarl" cover them.
LEGAL_SUFFIXES = frozenset(
    """
    inc incorporated corp corporation co company cos llc lc llp lp ltd limited plc pllc pc
    gmbh mbh ag kg ohg ug se ev kgaa sa sl slu sll sau sas sasu sarl eurl sca snc scs
    bv nv cv vof spa srl srls sapa scarl oy oyj ab as asa aps kk yk pty pte bhd sdn tbk
    ltda eireli sc sp zoo spzoo sro as doo dd kft zrt nyrt ood ead
    """.split()
)
_COMPANY_STOP = frozenset({"the", "and"})

FREE_MAIL = (
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "live.com",
    "msn.com",
    "protonmail.com",
    "proton.me",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "yandex.com",
    "yahoo.co.uk",
    "hotmail.co.uk",
    "btinternet.com",
    "orange.fr",
    "free.fr",
    "libero.it",
    "yahoo.fr",
    "yahoo.es",
    "hotmail.fr",
    "hotmail.es",
    "t-online.de",
    "qq.com",
    "163.com",
    "comcast.net",
)
_FREE_MAIL_SET = frozenset(FREE_MAIL)
_DOMAIN_ALIASES = {"googlemail.com": "gmail.com", "me.com": "icloud.com", "mac.com": "icloud.com"}
_DOTLESS_LOCAL = frozenset({"gmail.com"})
ROLE_MAILBOXES = frozenset(
    """
    info contact sales hello office admin support team mail enquiries enquiry inquiries help
    marketing hr jobs careers billing accounts service noreply no-reply webmaster postmaster
    """.split()
)

_COUNTRIES = {
    "united states": "us",
    "united states of america": "us",
    "usa": "us",
    "us": "us",
    "america": "us",
    "united kingdom": "gb",
    "uk": "gb",
    "great britain": "gb",
    "england": "gb",
    "scotland": "gb",
    "wales": "gb",
    "gb": "gb",
    "germany": "de",
    "deutschland": "de",
    "france": "fr",
    "spain": "es",
    "espana": "es",
    "italy": "it",
    "italia": "it",
    "netherlands": "nl",
    "the netherlands": "nl",
    "holland": "nl",
    "ireland": "ie",
    "canada": "ca",
    "australia": "au",
    "austria": "at",
    "osterreich": "at",
    "switzerland": "ch",
    "schweiz": "ch",
    "suisse": "ch",
    "belgium": "be",
    "portugal": "pt",
    "sweden": "se",
    "norway": "no",
    "denmark": "dk",
    "finland": "fi",
    "poland": "pl",
    "mexico": "mx",
    "brazil": "br",
    "brasil": "br",
    "india": "in",
    "japan": "jp",
    "new zealand": "nz",
    "singapore": "sg",
}

_NON_LETTER = re.compile(r"[^a-z ]+")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\D+")
_SOUNDEX = {
    c: d
    for d, letters in {
        "1": "bfpv",
        "2": "cgjkqsxz",
        "3": "dt",
        "4": "l",
        "5": "mn",
        "6": "r",
    }.items()
    for c in letters
}


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case ASCII transliteration: 'Zoë Müller-Ñúñez' -> 'zoe muller-nunez'."""
    text = text.strip().lower()
    if text.isascii():
        return text
    text = text.replace("ß", "ss").replace("ø", "o").replace("æ", "ae").replace("œ", "oe")
    text = text.replace("ł", "l").replace("đ", "d").replace("ð", "d").replace("þ", "th")
    # Compatibility forms decompose to letters of either case ("𝘈" -> "A"): lower once more.
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return folded.strip().lower()


def _name_tokens(raw: str | None) -> list[str]:
    if not raw:
        return []
    text = _NON_LETTER.sub(" ", fold(raw).replace("'", "").replace("-", " ").replace(".", " "))
    return text.split()


def given_name(raw: str | None) -> str | None:
    """Given name without titles, punctuation or spaces: 'Dr. Mary-Ann' -> 'maryann'."""
    tokens = [t for t in _name_tokens(raw) if t not in _TITLES]
    joined = "".join(tokens)
    # Letters that spell a title once joined ("D. R." -> "dr") are dropped too, so that the
    # key of a key is the key.
    return joined if joined and joined not in _TITLES else None


def given_first_token(raw: str | None) -> str | None:
    """The first word of a given name ('Mary Ann' -> 'mary'); the nickname table keys on it."""
    tokens = [t for t in _name_tokens(raw) if t not in _TITLES]
    return tokens[0] if tokens else None


def canonical_given(name: str | None) -> str | None:
    """Nickname group of a normalised given name: 'bill' -> 'william', unknown names unchanged."""
    if not name:
        return None
    return NICKNAMES.get(name, name)


def surname(raw: str | None) -> str | None:
    """Surname without suffixes, punctuation or spaces: "O'Brien-Smith Jr." -> 'obriensmith'."""
    tokens = [t for t in _name_tokens(raw) if t not in _NAME_SUFFIXES]
    joined = "".join(tokens)
    return joined if joined and joined not in _NAME_SUFFIXES else None


def initial(name: str | None) -> str | None:
    return name[0] if name else None


def split_full_name(raw: str | None) -> tuple[str | None, str | None]:
    """Split 'Smith, John' or 'John Smith' into (given, surname)."""
    if not raw or not raw.strip():
        return None, None
    if "," in raw:
        last, _, first = raw.partition(",")
        return first.strip() or None, last.strip() or None
    words = [w for w in raw.split() if fold(w).strip(".") not in _TITLES]
    if len(words) == 1:
        return words[0], None
    particles = {"van", "von", "de", "del", "della", "da", "di", "du", "le", "la", "der", "den"}
    cut = len(words) - 1
    while cut > 1 and fold(words[cut - 1]) in particles:
        cut -= 1
    return " ".join(words[:cut]) or None, " ".join(words[cut:]) or None


def company(raw: str | None) -> str | None:
    """Company key: 'The Smith & Jones Co., S.L.' -> 'smith jones'."""
    if not raw:
        return None
    text = fold(raw).replace("&", " and ").replace("+", " and ")
    text = text.replace(".", "").replace("'", "")  # s.l. -> sl, S.A.R.L. -> sarl
    tokens = _NON_ALNUM.sub(" ", text).split()
    while len(tokens) > 1 and (tokens[-1] in LEGAL_SUFFIXES or tokens[-1] in _COMPANY_STOP):
        tokens.pop()
    kept = [t for t in tokens if t not in _COMPANY_STOP] or tokens
    return " ".join(kept) or None


def _one_slip_variants(word: str) -> set[str]:
    """Every string one deletion, insertion, substitution or adjacent swap away from word."""
    letters = "abcdefghijklmnopqrstuvwxyz0123456789.-"
    out = set()
    for i in range(len(word) + 1):
        head, tail = word[:i], word[i:]
        if tail:
            out.add(head + tail[1:])
            out.update(head + c + tail[1:] for c in letters)
        if len(tail) > 1:
            out.add(head + tail[1] + tail[0] + tail[2:])
        out.update(head + c + tail for c in letters)
    out.discard(word)
    return out


# Misspelt free-mail domains -> the real one (a domain one slip from two real ones is left).
_DOMAIN_TYPOS: dict[str, str] = {}
for _real in FREE_MAIL:
    for _typo in _one_slip_variants(_real):
        if _typo not in _FREE_MAIL_SET and len(_typo) >= 7:
            _DOMAIN_TYPOS[_typo] = "" if _typo in _DOMAIN_TYPOS else _real
_DOMAIN_TYPOS = {k: v for k, v in _DOMAIN_TYPOS.items() if v}


def email_domain(domain: str) -> str:
    """Known aliases and one-slip misspellings of free-mail domains: 'gmial.com' -> 'gmail.com'."""
    domain = _DOMAIN_ALIASES.get(domain, domain)
    return _DOMAIN_TYPOS.get(domain, domain)


def email_parts(raw: str | None) -> tuple[str, str] | None:
    """(local, domain) with case, plus-tags, Gmail dots and free-mail domain typos removed."""
    if not raw:
        return None
    text = raw.strip().lower()
    if not text.isascii():
        text = fold(text)
    if "mailto:" in text or "<" in text or ">" in text or not text.isprintable() or " " in text:
        # Every kind of whitespace goes, then the brackets of "Name <address>".
        text = "".join(text.replace("mailto:", "").split()).strip("<>")
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        return None
    domain = email_domain(domain.strip("."))
    local = local.split("+", 1)[0]
    if not domain:
        return None
    if domain in _DOTLESS_LOCAL:
        local = local.replace(".", "")
    if not local:
        return None
    return local, domain


def email(raw: str | None) -> str | None:
    parts = email_parts(raw)
    return f"{parts[0]}@{parts[1]}" if parts else None


def email_local(normalised: str | None) -> str | None:
    return normalised.rpartition("@")[0] if normalised else None


def email_user(normalised: str | None) -> str | None:
    """The local part when it names a person (not info@, sales@...), for blocking across domains."""
    local = email_local(normalised)
    if not local or len(local) < 4 or local in ROLE_MAILBOXES:
        return None
    return local.replace(
        ".", ""
    )  # dots are not significant at Gmail, so ignore them across domains


def email_domain_of(normalised: str | None) -> str | None:
    return normalised.rpartition("@")[2] if normalised else None


def phone(raw: str | None) -> str | None:
    """The last nine digits: the same key for '+44 20 7946 0958', '020 7946 0958', E.164..."""
    if not raw:
        return None
    digits = _DIGITS.sub("", raw.split("x")[0].split("ext")[0])
    if len(digits) < 7:
        return None
    return digits[-9:]


def city(raw: str | None) -> str | None:
    if not raw:
        return None
    text = fold(raw).replace("st.", "saint ").replace("'", "")
    return " ".join(_NON_ALNUM.sub(" ", text).split()) or None


def postcode(raw: str | None) -> str | None:
    if not raw:
        return None
    return _NON_ALNUM.sub("", fold(raw)) or None


def country(raw: str | None) -> str | None:
    if not raw:
        return None
    text = " ".join(_NON_LETTER.sub(" ", fold(raw)).split())
    return _COUNTRIES.get(text, text) or None


def text(raw: str | None) -> str | None:
    """Generic free text: folded, punctuation as spaces, spaces collapsed."""
    if not raw:
        return None
    return " ".join(_NON_ALNUM.sub(" ", fold(raw)).split()) or None


def digits(raw: str | None) -> str | None:
    if not raw:
        return None
    return _DIGITS.sub("", raw) or None


def soundex(name: str | None) -> str | None:
    """American Soundex of a normalised name: 'robert' and 'rupert' -> 'r163'."""
    if not name:
        return None
    codes = _SOUNDEX
    out = name[0]
    last = codes.get(name[0], "")
    for ch in name[1:]:
        code = codes.get(ch, "")
        if code and code != last:
            out += code
            if len(out) == 4:
                break
        if ch not in "hw":
            last = code
    return out.ljust(4, "0")


def given_key(raw: str | None) -> str | None:
    """Nickname group of the first given name: 'Bill' and 'William J.' -> 'william'."""
    return canonical_given(given_first_token(raw))


def is_initial(name: str | None) -> str | None:
    """'1' when a normalised given name is a bare initial ('j'), else missing."""
    return "1" if name and len(name) == 1 else None
