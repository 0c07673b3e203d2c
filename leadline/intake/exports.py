"""Export any filtered lead list to CSV or XLSX, streamed, and safe to open in a spreadsheet:
no cell is ever run as a formula."""

import csv
from collections.abc import Iterator

from leadline.core.csvsafe import safe_cell

COLUMNS = [
    ("id", "Id"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "Email"),
    ("phone_e164", "Phone"),
    ("title", "Title"),
    ("seniority", "Seniority"),
    ("company", "Company"),
    ("company_domain", "Company domain"),
    ("website", "Website"),
    ("industry", "Industry"),
    ("employees", "Employees"),
    ("revenue", "Annual revenue"),
    ("country", "Country"),
    ("region", "State / region"),
    ("city", "City"),
    ("source", "Source"),
    ("source_detail", "Source detail"),
    ("campaign", "Campaign"),
    ("status", "Status"),
    ("stage", "Stage"),
    ("score", "Score"),
    ("fit_score", "Fit score"),
    ("engagement_score", "Engagement score"),
    ("owner", "Owner"),
    ("team", "Team"),
    ("disqualify_reason", "Disqualify reason"),
    ("captured_at", "Captured at"),
    ("first_response_at", "First response at"),
    ("last_activity_at", "Last activity at"),
    ("external_id", "External id"),
    ("do_not_contact", "Do not contact"),
    ("do_not_email", "Do not email"),
    ("do_not_call", "Do not call"),
]
MAX_CUSTOM_COLUMNS = 50
CHUNK = 2000


def _queryset(qs):
    return qs.with_stage().select_related("owner", "team", "campaign").order_by("id")


def custom_keys(qs) -> list[str]:
    """Every custom field used by the listed leads (up to 50), each becomes a column."""
    keys: dict[str, None] = {}
    for custom in qs.order_by().values_list("custom", flat=True).iterator(chunk_size=CHUNK):
        for key in custom or {}:
            keys.setdefault(key, None)
            if len(keys) >= MAX_CUSTOM_COLUMNS:
                return sorted(keys)
    return sorted(keys)


def _value(lead, name: str):
    if name == "campaign":
        return lead.campaign.name if lead.campaign_id else ""
    if name == "owner":
        return lead.owner.get_username() if lead.owner_id else ""
    if name == "team":
        return lead.team.name if lead.team_id else ""
    if name == "stage":
        return lead.stage_value
    value = getattr(lead, name)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def rows(qs) -> Iterator[list]:
    """The header, then one list of plain values per lead (None for blank)."""
    extra = custom_keys(qs)
    yield [label for _name, label in COLUMNS] + extra
    for lead in _queryset(qs).iterator(chunk_size=CHUNK):
        values = [_value(lead, name) for name, _label in COLUMNS]
        custom = lead.custom or {}
        values += [_flat(custom.get(key)) for key in extra]
        yield values


def _flat(value):
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items())
    return value


class _Line:
    """A file-like object that hands back what csv.writer writes, one line at a time."""

    def write(self, text: str) -> str:
        return text


def csv_lines(qs) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield "\ufeff"  # so Excel reads the UTF-8 file as UTF-8
    for values in rows(qs):
        yield writer.writerow([safe_cell("" if v is None else v) for v in values])


def write_xlsx(qs, path) -> None:
    """Stream the leads into a workbook; text that looks like a formula is stored as text."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Leads")
    for values in rows(qs):
        cells = []
        for value in values:
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            if isinstance(value, str) and value.startswith(("=", "+", "-", "@")):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                cells.append(cell)
            elif hasattr(value, "as_tuple"):  # Decimal
                cells.append(float(value))
            else:
                cells.append(value)
        sheet.append(cells)
    workbook.save(path)
