"""Column mapping: which lead field (or custom field) each column of a file fills, and how a
cell's text becomes that field's value.

Headers are compared by their letters and digits only, case-folded, so "First Name",
"FirstName", "first_name" and "FIRST-NAME" are the same column. The aliases cover Salesforce lead
exports (report labels and API names), HubSpot contact exports and the usual variants.
"""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from leadline.core.choices import Source

IGNORE = ""
CUSTOM = "custom:"

# target → (label, aliases in order of preference). The first column matching the earliest alias
# gets the target; other columns matching the same target become custom fields.
LEAD_TARGETS: dict[str, tuple[str, list[str]]] = {
    "external_id": (
        "Id in the source system",
        [
            "id",
            "leadid",
            "recordid",
            "contactid",
            "salesforceid",
            "hubspotid",
            "externalid",
            "crmid",
            "18characterid",
            "leadid18",
        ],
    ),
    "first_name": (
        "First name",
        ["firstname", "givenname", "forename", "first", "fname", "prenom", "vorname"],
    ),
    "last_name": (
        "Last name",
        ["lastname", "surname", "familyname", "last", "lname", "nom", "nachname"],
    ),
    "name": (
        "Full name",
        [
            "fullname",
            "name",
            "contactname",
            "leadname",
            "attendeename",
            "username",
            "usernameoriginalname",
            "contact",
        ],
    ),
    "email": (
        "Email",
        [
            "email",
            "emailaddress",
            "workemail",
            "businessemail",
            "email1",
            "primaryemail",
            "mail",
            "emailid",
            "contactemail",
            "attendeeemail",
        ],
    ),
    "phone": (
        "Phone",
        [
            "phone",
            "phonenumber",
            "businessphone",
            "workphone",
            "telephone",
            "tel",
            "directphone",
            "officephone",
            "directdial",
            "mobile",
            "mobilephone",
            "mobilephonenumber",
            "cellphone",
            "cell",
            "mobilenumber",
        ],
    ),
    "title": ("Job title", ["title", "jobtitle", "position", "role", "designation", "jobrole"]),
    "company": (
        "Company",
        [
            "company",
            "companyname",
            "companyaccount",
            "account",
            "accountname",
            "organization",
            "organisation",
            "organizationname",
            "employer",
            "associatedcompany",
            "org",
            "firm",
        ],
    ),
    "website": (
        "Website",
        [
            "website",
            "websiteurl",
            "companywebsite",
            "url",
            "web",
            "companydomainname",
            "domain",
            "companydomain",
        ],
    ),
    "industry": ("Industry", ["industry", "sector", "vertical", "companyindustry"]),
    "employees": (
        "Employees",
        [
            "numberofemployees",
            "noofemployees",
            "employees",
            "employeecount",
            "companysize",
            "headcount",
            "numemployees",
            "employeesize",
            "size",
        ],
    ),
    "revenue": (
        "Annual revenue",
        ["annualrevenue", "revenue", "companyrevenue", "annualrevenueusd"],
    ),
    "country": (
        "Country",
        [
            "country",
            "countryregion",
            "countrycode",
            "countryname",
            "mailingcountry",
            "billingcountry",
        ],
    ),
    "region": (
        "State / region",
        [
            "state",
            "stateprovince",
            "stateregion",
            "province",
            "region",
            "county",
            "statecode",
            "mailingstate",
        ],
    ),
    "city": ("City", ["city", "town", "locality", "mailingcity", "billingcity"]),
    "timezone": ("Time zone", ["timezone", "tz"]),
    "source": (
        "Lead source",
        ["leadsource", "source", "originalsource", "originalsourcetype", "channel"],
    ),
    "source_detail": (
        "Source detail",
        ["sourcedetail", "leadsourcedetail", "originalsourcedrilldown1", "sourcedrilldown"],
    ),
    "utm_source": ("UTM source", ["utmsource"]),
    "utm_medium": ("UTM medium", ["utmmedium"]),
    "utm_campaign": ("UTM campaign", ["utmcampaign"]),
    "utm_term": ("UTM term", ["utmterm"]),
    "utm_content": ("UTM content", ["utmcontent"]),
    "consent_email": (
        "Email consent (yes/no)",
        ["emailoptin", "marketingconsent", "consent", "gdprconsent", "optin", "emailconsent"],
    ),
    "consent_text": ("Consent wording", ["consenttext", "consentwording"]),
    "do_not_email": (
        "Do not email (yes/no)",
        [
            "emailoptout",
            "hasoptedoutofemail",
            "unsubscribedfromallemail",
            "unsubscribed",
            "optedout",
            "donotemail",
            "optout",
        ],
    ),
    "do_not_call": ("Do not call (yes/no)", ["donotcall", "dnc"]),
    "do_not_contact": ("Do not contact (yes/no)", ["donotcontact"]),
}

# Columns every CRM export has that are worth keeping as named custom fields.
CUSTOM_ALIASES: dict[str, list[str]] = {
    "street": [
        "street",
        "streetaddress",
        "address",
        "mailingstreet",
        "address1",
        "addressline1",
        "billingstreet",
    ],
    "postal_code": [
        "zippostalcode",
        "postalcode",
        "zip",
        "zipcode",
        "postcode",
        "mailingpostalcode",
    ],
    "lead_status": ["leadstatus", "status", "hsleadstatus"],
    "lifecycle_stage": ["lifecyclestage"],
    "crm_owner": ["contactowner", "leadowner", "owner", "ownerid", "ownername"],
    "rating": ["rating", "leadrating"],
    "description": ["description", "notes", "comments", "message"],
    "created_date": ["createddate", "createdate", "datecreated"],
    "last_activity_date": ["lastactivitydate", "lastactivity"],
    "mobile": ["mobile", "mobilephone", "mobilephonenumber", "cellphone", "cell", "mobilenumber"],
}

# System columns of CRM exports that mean nothing outside the CRM.
IGNORED = frozenset(
    """isdeleted masterrecordid latitude longitude geocodeaccuracy systemmodstamp
    lastmodifieddate lastmodifiedbyid createdbyid isconverted convertedaccountid
    convertedcontactid convertedopportunityid converteddate photourl jigsaw jigsawcontactid
    emailbouncedreason emailbounceddate isunreadbyowner lastvieweddate lastreferenceddate
    individualid cleanstatus companydunsnumber dandbcompanyid salutation fax""".split()
)

EVENT_TARGETS: dict[str, tuple[str, list[str]]] = {
    "external_id": (
        "Lead id in the source system",
        ["leadid", "recordid", "contactid", "externalid", "crmid"],
    ),
    "event_id": ("Event id (for de-duplication)", ["eventid", "activityid", "id"]),
    "kind": ("Event type", ["eventtype", "event", "type", "kind", "activitytype", "activity"]),
    "at": (
        "When",
        [
            "at",
            "timestamp",
            "time",
            "date",
            "datetime",
            "eventtime",
            "eventdate",
            "occurredat",
            "jointime",
            "registrationtime",
            "attendedat",
            "scannedat",
            "createdat",
            "createdate",
        ],
    ),
    **{
        k: LEAD_TARGETS[k]
        for k in (
            "email",
            "first_name",
            "last_name",
            "name",
            "phone",
            "title",
            "company",
            "country",
            "city",
        )
    },
}

HEADER_KEY = re.compile(r"[^0-9a-z]+")


def header_key(header: str) -> str:
    return HEADER_KEY.sub("", str(header).casefold())


def custom_key(header: str) -> str:
    key = re.sub(r"[^0-9a-z]+", "_", str(header).casefold()).strip("_")
    return (key or "column")[:60]


def targets_for(kind: str) -> dict[str, tuple[str, list[str]]]:
    return EVENT_TARGETS if kind == "events" else LEAD_TARGETS


def target_choices(kind: str = "leads") -> list[tuple[str, str]]:
    return [(name, label) for name, (label, _aliases) in targets_for(kind).items()]


def auto_map(headers: list[str], kind: str = "leads", saved: dict | None = None) -> list[str]:
    """A target per column: a saved mapping's choice first, then the best alias, else custom."""
    keys = [header_key(h) for h in headers]
    mapping = [IGNORE] * len(headers)
    taken: set[str] = set()
    saved = saved or {}
    for i, key in enumerate(keys):
        if key in saved:
            mapping[i] = saved[key]
            if saved[key] and not saved[key].startswith(CUSTOM):
                taken.add(saved[key])
    targets = targets_for(kind)
    for target, (_label, aliases) in targets.items():
        if target in taken:
            continue
        candidates = [
            (aliases.index(key), i)
            for i, key in enumerate(keys)
            if key in aliases and not mapping[i] and key not in saved
        ]
        if candidates:
            mapping[min(candidates)[1]] = target
            taken.add(target)
    for i, key in enumerate(keys):
        if mapping[i] or key in saved or not key or key in IGNORED:
            continue
        named = next((name for name, aliases in CUSTOM_ALIASES.items() if key in aliases), None)
        mapping[i] = CUSTOM + (named or custom_key(headers[i]))
    return mapping


def validate_mapping(headers: list[str], mapping: list[str], kind: str = "leads") -> dict:
    """Problems with a mapping, keyed by column header."""
    problems = {}
    seen: dict[str, str] = {}
    targets = targets_for(kind)
    for header, target in zip(headers, mapping, strict=False):
        if not target:
            continue
        if target.startswith(CUSTOM):
            if not re.fullmatch(r"[a-z0-9_]{1,60}", target[len(CUSTOM) :]):
                problems[header] = "custom field names use a-z, 0-9 and _ only"
                continue
        elif target not in targets:
            problems[header] = f"unknown target {target!r}"
            continue
        if target in seen:
            problems[header] = f"{seen[target]!r} already fills {target}"
        seen[target] = header
    if kind == "events":
        if not {"email", "external_id"} & set(mapping):
            problems[""] = "map an Email or a lead id column: events are matched to leads by them"
    elif not {"email", "phone", "company", "last_name", "name"} & set(mapping):
        problems[""] = "map at least an Email, Phone, Company or name column"
    return problems


def saved_columns(headers: list[str], mapping: list[str]) -> dict:
    return {header_key(h): t for h, t in zip(headers, mapping, strict=False) if header_key(h)}


# --- values -----------------------------------------------------------------------------------

SOURCE_LABELS = {
    "web": Source.WEB_FORM,
    "website": Source.WEB_FORM,
    "webform": Source.WEB_FORM,
    "webtolead": Source.WEB_FORM,
    "contactus": Source.WEB_FORM,
    "form": Source.WEB_FORM,
    "demorequest": Source.DEMO_REQUEST,
    "demo": Source.DEMO_REQUEST,
    "requestademo": Source.DEMO_REQUEST,
    "phoneinquiry": Source.INBOUND_CALL,
    "phone": Source.INBOUND_CALL,
    "inboundcall": Source.INBOUND_CALL,
    "call": Source.INBOUND_CALL,
    "partnerreferral": Source.PARTNER,
    "partner": Source.PARTNER,
    "partnerprogram": Source.PARTNER,
    "reseller": Source.PARTNER,
    "purchasedlist": Source.LIST_PURCHASE,
    "listpurchase": Source.LIST_PURCHASE,
    "boughtlist": Source.LIST_PURCHASE,
    "list": Source.LIST_PURCHASE,
    "tradeshow": Source.EVENT,
    "event": Source.EVENT,
    "conference": Source.EVENT,
    "seminarinternal": Source.EVENT,
    "seminarpartner": Source.EVENT,
    "seminar": Source.EVENT,
    "badgescan": Source.EVENT,
    "tradeshowevent": Source.EVENT,
    "webinar": Source.WEBINAR,
    "onlineevent": Source.WEBINAR,
    "employeereferral": Source.REFERRAL,
    "externalreferral": Source.REFERRAL,
    "wordofmouth": Source.REFERRAL,
    "referral": Source.REFERRAL,
    "referrals": Source.REFERRAL,
    "customerreferral": Source.REFERRAL,
    "content": Source.CONTENT,
    "contentdownload": Source.CONTENT,
    "ebook": Source.CONTENT,
    "whitepaper": Source.CONTENT,
    "download": Source.CONTENT,
    "api": Source.API,
    "import": Source.IMPORT,
    "offlinesources": Source.IMPORT,
    "other": Source.OTHER,
}
for _value, _label in Source.choices:
    SOURCE_LABELS.setdefault(header_key(_value), _value)
    SOURCE_LABELS.setdefault(header_key(_label), _value)

TRUE = {"1", "true", "yes", "y", "on", "x", "checked", "t", "ja", "oui", "si"}
FALSE = {"0", "false", "no", "n", "off", "unchecked", "f", "nein", "non"}
PLAIN = re.compile(r"^(\d+|\d{1,3}(,\d{3})+)$")
SCIENTIFIC = re.compile(r"^[+-]?\d(\.\d+)?[eE]\+?\d+$")
RANGE = re.compile(r"^\s*([\d.,\s]+?)\s*(?:-|–|to)\s*([\d.,\s]+?)\s*$")
SUFFIX = {
    "k": 1_000,
    "m": 1_000_000,
    "mm": 1_000_000,
    "mn": 1_000_000,
    "b": 1_000_000_000,
    "bn": 1_000_000_000,
}
NUMBER_JUNK = re.compile(r"[^\d.,\-]")
CURRENCY = frozenset("$€£¥")


def parse_number(text: str, *, integer: bool = False, decimal_comma: bool = False):
    """A number as people write it: "1,200", "1.200.000,50", "$2.5M", "10,001+", "51-200"
    (a range counts as its lower end). None when it is not a number."""
    text = str(text).strip()
    if not text:
        return None
    if PLAIN.match(text):  # the common case, "1200" or "1,200", without the general parse
        digits = text.replace(",", "")
        return int(digits) if integer else Decimal(digits)
    if text[0] in CURRENCY and not decimal_comma and PLAIN.match(text[1:]):
        # "$1,250,000", as common and read the same way as the general parse would.
        digits = text[1:].replace(",", "")
        return int(digits) if integer else Decimal(digits)
    match = RANGE.match(text)
    if match:
        text = match.group(1)
    multiplier = 1
    suffix = re.search(r"(mm|mn|bn|[kmb])\s*\+?$", text.lower())
    if suffix and re.search(r"\d", text[: suffix.start()]):
        multiplier = SUFFIX[suffix.group(1)]
        text = text[: suffix.start()]
    negative = text.lstrip().startswith("-") or (text.startswith("(") and text.endswith(")"))
    digits = NUMBER_JUNK.sub("", text).lstrip("-")
    if not digits or not re.search(r"\d", digits):
        return None
    comma, dot = digits.rfind(","), digits.rfind(".")
    if comma >= 0 and dot >= 0:
        decimal_mark = "," if comma > dot else "."
    elif comma >= 0:
        groups = digits.split(",")
        thousands = len(groups) > 2 or (len(groups[-1]) == 3 and not decimal_comma)
        decimal_mark = "." if thousands else ","
    elif dot >= 0:
        groups = digits.split(".")
        thousands = len(groups) > 2 or (len(groups[-1]) == 3 and (integer or decimal_comma))
        decimal_mark = "," if thousands else "."
    else:
        decimal_mark = "."
    other = "," if decimal_mark == "." else "."
    digits = digits.replace(other, "").replace(decimal_mark, ".")
    try:
        number = Decimal(digits) * multiplier
    except InvalidOperation:
        return None
    if negative:
        number = -number
    if integer:
        return int(number)
    return number


def parse_bool(text: str):
    value = str(text).strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    return None


def phone_text(text: str) -> str:
    """Phone numbers a spreadsheet turned into numbers (1.4155550143E+10, 14155550143) back
    into what was typed."""
    text = str(text).strip()
    if SCIENTIFIC.match(text):
        try:
            return str(int(Decimal(text)))
        except InvalidOperation:
            return text
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    if text.isdigit() and 11 <= len(text) <= 15 and not text.startswith("0"):
        # International digits whose "+" a spreadsheet dropped (national numbers start with 0
        # or are shorter).
        return "+" + text
    return text


EXCEL_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)
DATE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%b %d, %Y %I:%M:%S %p",
    "%b %d, %Y %I:%M %p",
    "%b %d, %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%B %d, %Y",
)
SLASHED = re.compile(
    r"^(\d{1,2})[/.](\d{1,2})[/.](\d{2,4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$"
)


def parse_datetime(text: str, *, day_first: bool = False) -> datetime | None:
    """A moment from ISO text, an Excel serial number (45352.5), or d/m/y / m/d/y with an
    optional time. Naive times are taken as UTC."""
    text = str(text).strip()
    if not text:
        return None
    if re.fullmatch(r"\d{5}(\.\d+)?", text):
        serial = float(text)
        if 20000 <= serial <= 80000:  # 1954 … 2119: a date, not a count
            return EXCEL_EPOCH + timedelta(days=serial)
        return None
    iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        moment = None
    if moment is None:
        for fmt in DATE_FORMATS:
            try:
                moment = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if moment is None:
        match = SLASHED.match(text)
        if not match:
            return None
        a, b, year, hour, minute, second, ampm = match.groups()
        day, month = (int(a), int(b)) if day_first or int(a) > 12 else (int(b), int(a))
        year = int(year) + (2000 if len(year) == 2 else 0)
        hour = int(hour or 0)
        if ampm:
            hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
        try:
            moment = datetime(year, month, day, hour, int(minute or 0), int(second or 0))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


DATE_HEADER = re.compile(r"(^|_|:)(date|time|datetime|timestamp)(_|$)|_(at|on)$")


def date_text(text: str, *, day_first: bool = False) -> str:
    """A date column's cell as an ISO date (or date-time): Excel serial numbers and d/m/y or
    m/d/y text included; anything else is kept as written."""
    moment = parse_datetime(text, day_first=day_first)
    if moment is None:
        return text
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0):
        return moment.date().isoformat()
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def source_value(text: str) -> str | None:
    return SOURCE_LABELS.get(header_key(text))


CUSTOM_LIMIT = 2000


def custom_value(text) -> str:
    """Custom field values are kept as text (XLSX dates arrive here already as ISO dates)."""
    return str(text).strip()[:CUSTOM_LIMIT]
