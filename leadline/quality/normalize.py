"""Normalisers for the capture pipeline: plain functions, no database, never raising on text."""

import re
import unicodedata

import phonenumbers

EMAIL_RE = re.compile(
    r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
SPACES = re.compile(r"\s+")

# Common consumer mail providers: their domain says nothing about the lead's company.
FREE_MAIL_DOMAINS = frozenset(
    """gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de ymail.com hotmail.com
    hotmail.co.uk hotmail.fr hotmail.de outlook.com outlook.fr outlook.de live.com live.co.uk
    msn.com aol.com icloud.com me.com mac.com gmx.com gmx.de gmx.net web.de mail.com mail.ru
    yandex.ru yandex.com proton.me protonmail.com pm.me zoho.com qq.com 163.com 126.com
    naver.com orange.fr free.fr laposte.net libero.it t-online.de seznam.cz wp.pl o2.pl
    rediffmail.com btinternet.com comcast.net verizon.net att.net sbcglobal.net hey.com
    fastmail.com tutanota.com""".split()
)

ROLE_LOCAL_PARTS = frozenset(
    "info sales contact hello admin office support team marketing enquiries inquiries "
    "billing accounts hr jobs careers noreply no-reply webmaster".split()
)


def clean_text(value, limit: int = 200) -> str:
    if value is None:
        return ""
    return SPACES.sub(" ", str(value)).strip()[:limit]


def normalize_email(value) -> tuple[str, str | None]:
    """(email as stored, problem or None). Trimmed and case-folded."""
    email = clean_text(value, 254).lower()
    if not email:
        return "", None
    if email.startswith("mailto:"):
        email = email[7:]
    if not EMAIL_RE.match(email):
        return email, "is not a valid email address"
    return email, None


def email_domain(email: str) -> str:
    return email.rpartition("@")[2] if "@" in email else ""


def is_free_mail(email_or_domain: str) -> bool:
    domain = email_domain(email_or_domain) if "@" in email_or_domain else email_or_domain
    return domain in FREE_MAIL_DOMAINS


def is_role_address(email: str) -> bool:
    return email.partition("@")[0] in ROLE_LOCAL_PARTS


def normalize_phone(value, country: str = "") -> tuple[str, str, str | None]:
    """(display, E.164, problem or None); the lead's country is the default region."""
    raw = clean_text(value, 40)
    if not raw:
        return "", "", None
    try:
        number = phonenumbers.parse(raw, (country or "").upper() or None)
    except phonenumbers.NumberParseException:
        return raw, "", "is not a phone number (add the country code, e.g. +44 20 7946 0000)"
    if not phonenumbers.is_possible_number(number):
        return raw, "", "is not a possible phone number for its country"
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return raw, e164, None


def phone_country(e164: str) -> str:
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ""
    return phonenumbers.region_code_for_number(number) or ""


def normalize_name(value) -> str:
    """Tidy a person's name: collapse spaces; title-case only names typed in one case."""
    name = clean_text(value, 100)
    if name and (name.isupper() or name.islower()):
        name = " ".join(_capitalise(part) for part in name.lower().split(" "))
    return name


def _capitalise(word: str) -> str:
    # "ß".upper() is "SS": leave letters whose capital is not a single letter as typed, so
    # normalising twice gives the same name.
    first = word[:1].upper()
    return first + word[1:] if len(first) == len(word[:1]) else word


def fold(value: str) -> str:
    """Case- and accent-folded form for matching (the stored value keeps its accents)."""
    decomposed = unicodedata.normalize("NFKD", value or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def normalize_domain(value) -> str:
    text = clean_text(value, 300).lower()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].strip(".")
    if text.startswith("www."):
        text = text[4:]
    return text if "." in text and " " not in text else ""


def company_domain(email: str, website: str) -> str:
    """The company's domain: from the website if given, else from a non-free email."""
    domain = normalize_domain(website)
    if domain:
        return domain
    if email and "@" in email and not is_free_mail(email):
        return email_domain(email)
    return ""


def normalize_country(value) -> str:
    """ISO 3166 alpha-2 from a code or a common name; empty when unknown."""
    text = clean_text(value, 60)
    if not text:
        return ""
    if len(text) == 2 and text.isalpha():
        return text.upper() if text.upper() in COUNTRY_CODES else ""
    return COUNTRY_NAMES.get(fold(text), "")


# The regions the phone-number library knows: the ISO 3166 alpha-2 codes in use (and a few
# territories with their own dialling plans, such as XK).
COUNTRY_CODES = frozenset(phonenumbers.SUPPORTED_REGIONS)


COUNTRY_NAMES = {
    "united states": "US",
    "united states of america": "US",
    "usa": "US",
    "us": "US",
    "united kingdom": "GB",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "germany": "DE",
    "deutschland": "DE",
    "france": "FR",
    "spain": "ES",
    "espana": "ES",
    "italy": "IT",
    "netherlands": "NL",
    "the netherlands": "NL",
    "belgium": "BE",
    "switzerland": "CH",
    "austria": "AT",
    "ireland": "IE",
    "portugal": "PT",
    "sweden": "SE",
    "norway": "NO",
    "denmark": "DK",
    "finland": "FI",
    "poland": "PL",
    "czech republic": "CZ",
    "czechia": "CZ",
    "canada": "CA",
    "mexico": "MX",
    "brazil": "BR",
    "argentina": "AR",
    "chile": "CL",
    "colombia": "CO",
    "australia": "AU",
    "new zealand": "NZ",
    "india": "IN",
    "china": "CN",
    "japan": "JP",
    "singapore": "SG",
    "south korea": "KR",
    "israel": "IL",
    "united arab emirates": "AE",
    "uae": "AE",
    "south africa": "ZA",
    "nigeria": "NG",
    "kenya": "KE",
    "egypt": "EG",
    "saudi arabia": "SA",
    "turkey": "TR",
    "greece": "GR",
    "romania": "RO",
    "hungary": "HU",
    "ukraine": "UA",
    "indonesia": "ID",
    "philippines": "PH",
    "vietnam": "VN",
    "thailand": "TH",
    "malaysia": "MY",
    "hong kong": "HK",
    "taiwan": "TW",
}
