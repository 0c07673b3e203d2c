"""Spam signals for public forms: plain functions over text and hosts, no database."""

import ipaddress
import re
from urllib.parse import urlsplit

VOWELS = set("aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüÿœ")
LATIN_WORD = re.compile(r"[a-zA-Z]+")
URLISH = re.compile(
    r"(https?://|www\.|\b[a-z0-9-]{2,}\.(com|net|org|ru|cn|xyz|info|biz|io|top|site|online|"
    r"click|link|shop|store|live|app|co)\b|<a\s|\[url)",
    re.IGNORECASE,
)
REPEATED = re.compile(r"(.)\1{3,}")
CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]{7,}")


def looks_gibberish(text: str) -> bool:
    """Keyboard mashing such as "asdkjhqwe", "xkqzvbnt" or "hJkLmNqP"; real names, including
    long consonant clusters (Nietzsche, Knightsbridge) and CamelCase (DeLaCruz), pass."""
    text = (text or "").strip()
    if not text:
        return False
    if REPEATED.search(text.lower()):
        return True
    for word in LATIN_WORD.findall(text):
        lower = word.lower()
        if len(word) >= 6 and not (set(lower) & VOWELS):
            return True
        if CONSONANT_RUN.search(lower):
            return True
        if len(word) >= 6:
            humps = sum(
                1 for a, b in zip(word, word[1:], strict=False) if a.islower() and b.isupper()
            )
            if humps >= 3 and humps >= len(word) / 3:
                return True
    return False


def has_url(text: str) -> bool:
    return bool(URLISH.search(text or ""))


def host_of(origin: str) -> tuple[str, int | None]:
    """(host, port) of an origin or URL; the port only when it is written."""
    text = (origin or "").strip()
    if not text or text == "null":
        return "", None
    if "//" not in text:
        text = "//" + text
    try:
        parts = urlsplit(text)
        return (parts.hostname or "").lower(), parts.port
    except ValueError:
        return "", None


def domain_allowed(origin: str, allowed: list[str]) -> bool:
    """Is the origin one of the listed sites? "example.com" also allows its subdomains and
    any port; "127.0.0.1:8123" allows that port only."""
    host, port = host_of(origin)
    if not host:
        return False
    for entry in allowed or []:
        want_host, want_port = host_of(str(entry))
        if not want_host:
            continue
        if want_port is not None and want_port != port:
            continue
        if host == want_host or host.endswith("." + want_host):
            return True
    return False


def email_domain_blocked(email: str, blocked: list[str]) -> bool:
    domain = email.rpartition("@")[2].lower()
    if not domain:
        return False
    for entry in blocked or []:
        entry = str(entry).strip().lower().lstrip("@")
        if entry and (domain == entry or domain.endswith("." + entry)):
            return True
    return False


def ip_block(ip: str | None) -> str:
    """What a per-IP limit counts: an IPv4 address, or the /64 network of an IPv6 one (a home
    or phone connection gets a whole /64, and picking a new address in it is free)."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
