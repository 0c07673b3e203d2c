"""File imports: mapping CRM exports, reading every common encoding and layout, dry run and its
report, commit, idempotency, resuming after a kill, background runs, the web pages and exports.

Sample files are written inline by each test, with the column headers Salesforce and HubSpot
document for their exports."""

import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from leadline.core.models import Campaign, Job
from leadline.core.worker import run_until_idle
from leadline.intake import imports
from leadline.intake.models import Import, ImportMapping
from leadline.intake.pipeline import capture
from leadline.leads.models import Lead

# Salesforce: a lead report exported from the UI uses field labels…
SALESFORCE_LABELS = [
    "Lead ID",
    "First Name",
    "Last Name",
    "Title",
    "Company / Account",
    "Email",
    "Phone",
    "Mobile",
    "Street",
    "City",
    "State/Province",
    "Zip/Postal Code",
    "Country",
    "Lead Source",
    "Lead Status",
    "Industry",
    "Annual Revenue",
    "No. of Employees",
    "Website",
    "Rating",
]
# …while Data Export and Data Loader write the API names.
SALESFORCE_API = [
    "Id",
    "FirstName",
    "LastName",
    "Title",
    "Company",
    "Email",
    "Phone",
    "MobilePhone",
    "Street",
    "City",
    "State",
    "PostalCode",
    "Country",
    "LeadSource",
    "Status",
    "Industry",
    "AnnualRevenue",
    "NumberOfEmployees",
    "Website",
    "Rating",
]
SALESFORCE_ROW = [
    "00Q5e00000AbCdE",
    "dana",
    "SCULLY",
    "VP Operations",
    "Acme Corp",
    "dana@acme-corp.com",
    "(202) 555-0143",
    "+1 202 555 0199",
    "1 Main St\nSuite 5",
    "Washington",
    "DC",
    "20001",
    "United States",
    "Trade Show",
    "Open - Not Contacted",
    "Software",
    "$1,200,000.00",
    "1,200",
    "www.acme-corp.com",
    "Hot",
]
HUBSPOT = [
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Job Title",
    "Lifecycle Stage",
    "Lead Status",
    "Contact owner",
    "Associated Company",
    "Company Name",
    "Country/Region",
    "City",
    "State/Region",
    "Postal Code",
    "Create Date",
    "Number of Employees",
    "Annual Revenue",
    "Unsubscribed from all email",
]
HUBSPOT_ROW = [
    "51",
    "Fox",
    "Mulder",
    "fox@xfiles.org",
    "+1 (202) 555-0188",
    "Special Agent",
    "Marketing Qualified Lead",
    "IN_PROGRESS",
    "Walter Skinner",
    "FBI",
    "X-Files Unit",
    "United States",
    "Washington",
    "District of Columbia",
    "20535",
    "2026-02-11 09:30",
    "250",
    "3000000",
    "false",
]


def write_csv(path: Path, rows, *, encoding="utf-8", delimiter=",") -> Path:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def run(*args) -> str:
    out = io.StringIO()
    call_command("import", *map(str, args), stdout=out, stderr=io.StringIO())
    return out.getvalue()


def mapping_of(imp: Import) -> dict:
    return dict(zip(imp.headers, imp.mapping, strict=False))


def report(imp: Import, phase=None) -> list[dict]:
    out = io.StringIO()
    imports.write_report(imp, out, phase)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


# mapping ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [SALESFORCE_LABELS, SALESFORCE_API], ids=["labels", "api"])
def test_salesforce_exports_are_mapped_by_label_and_by_api_name(workspace, tmp_path, headers):
    path = write_csv(tmp_path / "sf.csv", [headers, SALESFORCE_ROW])
    imp = imports.open_import(path)
    targets = [t for t in imp.mapping]
    assert targets == [
        "external_id",
        "first_name",
        "last_name",
        "title",
        "company",
        "email",
        "phone",
        "custom:mobile",
        "custom:street",
        "city",
        "region",
        "custom:postal_code",
        "country",
        "source",
        "custom:lead_status",
        "industry",
        "revenue",
        "employees",
        "website",
        "custom:rating",
    ]
    assert imp.id_namespace == "salesforce"

    run(path)
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.email) == ("Dana", "Scully", "dana@acme-corp.com")
    assert lead.phone_e164 == "+12025550143" and lead.country == "US" and lead.region == "DC"
    assert lead.employees == 1200 and lead.revenue == Decimal("1200000.00")
    assert lead.source == "event" and lead.source_detail == "Trade Show"
    assert lead.company_domain == "acme-corp.com" and lead.seniority == "vp"
    assert lead.custom == {
        "mobile": "+1 202 555 0199",
        "street": "1 Main St\nSuite 5",
        "postal_code": "20001",
        "lead_status": "Open - Not Contacted",
        "rating": "Hot",
    }
    assert lead.external_id == "salesforce:00Q5e00000AbCdE"
    assert lead.owner == workspace.owner  # routed like any other capture


def test_a_hubspot_contact_export_is_mapped(workspace, tmp_path):
    path = write_csv(tmp_path / "hubspot-contacts.csv", [HUBSPOT, HUBSPOT_ROW])
    imp = imports.open_import(path)
    assert mapping_of(imp) == {
        "Record ID": "external_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Phone Number": "phone",
        "Job Title": "title",
        "Lifecycle Stage": "custom:lifecycle_stage",
        "Lead Status": "custom:lead_status",
        "Contact owner": "custom:crm_owner",
        "Associated Company": "custom:associated_company",  # Company Name wins the company
        "Company Name": "company",
        "Country/Region": "country",
        "City": "city",
        "State/Region": "region",
        "Postal Code": "custom:postal_code",
        "Create Date": "custom:created_date",
        "Number of Employees": "employees",
        "Annual Revenue": "revenue",
        "Unsubscribed from all email": "do_not_email",
    }
    assert imp.id_namespace == "hubspot"
    run(path)
    lead = Lead.objects.get()
    assert lead.company == "X-Files Unit" and lead.title == "Special Agent"
    assert lead.external_id == "hubspot:51" and lead.external_ids == {"hubspot": "51"}
    assert lead.custom["lifecycle_stage"] == "Marketing Qualified Lead"
    assert lead.custom["crm_owner"] == "Walter Skinner"
    assert lead.do_not_email is False and lead.employees == 250


def test_headers_match_whatever_their_case_and_punctuation(db, tmp_path):
    headers = [
        "E-MAIL ADDRESS",
        "first_name",
        "LAST-NAME",
        "Company_Name",
        "job title",
        "Phone #",
        "Favourite colour",
        "",
        "",
    ]
    path = write_csv(
        tmp_path / "odd.csv", [headers, ["a@b.co", "A", "B", "C", "CEO", "", "red", "", ""]]
    )
    imp = imports.open_import(path)
    assert imp.headers == headers[:7]  # empty trailing columns are dropped
    assert imp.mapping == [
        "email",
        "first_name",
        "last_name",
        "company",
        "title",
        "phone",
        "custom:favourite_colour",
    ]


def test_a_mapping_is_given_as_json_and_saved_for_reuse(workspace, tmp_path):
    headers = ["Contact", "Mail", "Org", "Notes", "Internal code"]
    first = write_csv(
        tmp_path / "partner-a.csv",
        [headers, ["Ana Lima", "ana@lima.com.br", "Lima SA", "met at booth", "X1"]],
    )
    run(
        first,
        "--mapping",
        '{"Mail": "email", "Notes": "custom", "Internal code": "ignore"}',
        "--save-mapping",
        "Partner list",
    )
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.company) == ("Ana", "Lima", "Lima SA")
    assert lead.custom == {"notes": "met at booth"}
    saved = ImportMapping.objects.get(name="Partner list")
    assert saved.columns["mail"] == "email" and saved.columns["internalcode"] == ""

    second = write_csv(
        tmp_path / "partner-b.csv", [headers, ["Rui Costa", "rui@costa.pt", "Costa Lda", "", "X2"]]
    )
    run(second, "--mapping", "partner list")
    assert Lead.objects.get(email="rui@costa.pt").custom == {}


def test_a_mapping_that_cannot_reach_a_lead_is_refused(db, tmp_path):
    path = write_csv(tmp_path / "x.csv", [["Email", "Notes"], ["a@b.co", "x"]])
    with pytest.raises(CommandError, match="map at least an Email"):
        run(path, "--mapping", '{"Email": "ignore"}')
    with pytest.raises(CommandError, match="no saved mapping 'Nope'"):
        run(path, "--mapping", "Nope")
    assert Lead.objects.count() == 0


# reading files ----------------------------------------------------------------------------------

PEOPLE = [
    ["First Name", "Last Name", "Email", "Company", "No. of Employees", "Notes"],
    ["José", "Müller", "jose@muller.de", "Größe GmbH", "1.200", "Straße 5"],
    ["Zoë", "Ångström", "zoe@example.se", "Fjällräven AB", "45", "line one\nline two"],
]


@pytest.mark.parametrize(
    ("encoding", "delimiter", "bom"),
    [
        ("utf-8", ",", b""),
        ("utf-8", ";", b"\xef\xbb\xbf"),
        ("utf-16-le", "\t", b"\xff\xfe"),  # Excel's "Unicode text"
        ("utf-16-le", ",", b""),
        ("utf-16-be", ";", b"\xfe\xff"),
        ("cp1252", ";", b""),  # Excel on Windows, European settings
        ("latin-1", "\t", b""),
    ],
)
def test_it_reads_every_common_encoding_and_delimiter(
    workspace, tmp_path, encoding, delimiter, bom
):
    path = tmp_path / "people.csv"
    write_csv(path, PEOPLE, encoding=encoding, delimiter=delimiter)
    path.write_bytes(bom + path.read_bytes())
    run(path)
    jose = Lead.objects.get(email="jose@muller.de")
    assert (jose.first_name, jose.last_name, jose.company) == ("José", "Müller", "Größe GmbH")
    assert jose.employees == 1200  # "1.200": a thousands separator, not a decimal point
    assert jose.custom["description"] == "Straße 5"
    zoe = Lead.objects.get(email="zoe@example.se")
    assert zoe.last_name == "Ångström" and zoe.custom["description"] == "line one\nline two"


def test_a_utf8_file_with_a_few_windows_1252_bytes_keeps_them(workspace, tmp_path):
    text = "First Name,Email\r\nRené,rene@example.fr\r\n".encode()
    legacy = "Ana,ana@example.pt\r\nFrançois,francois@example.fr\r\n".encode("cp1252")
    path = tmp_path / "mixed.csv"
    path.write_bytes(text + legacy)
    run(path)
    assert Lead.objects.get(email="rene@example.fr").first_name == "René"
    assert Lead.objects.get(email="francois@example.fr").first_name == "François"


def test_numbers_are_read_as_people_write_them(workspace, tmp_path):
    rows = [
        ["Email", "Annual Revenue", "Employees"],
        ["a@one.com", "$1,234,567.89", "10,001+"],
        ["b@two.com", "2.5M", "51-200"],
        ["c@three.com", "€ 1.234.567,89", "1 200"],
        ["d@four.com", "(500)", "-3"],
        ["e@five.com", "$1,234,567.89", "10,001+"],  # the same numbers as another row
    ]
    run(write_csv(tmp_path / "n.csv", rows))
    by_email = {lead.email: lead for lead in Lead.objects.all()}
    assert len(by_email) == 5
    assert by_email["a@one.com"].revenue == Decimal("1234567.89")
    assert by_email["a@one.com"].employees == 10001
    assert (
        by_email["b@two.com"].revenue == Decimal("2500000")
        and by_email["b@two.com"].employees == 51
    )
    assert by_email["c@three.com"].revenue == Decimal("1234567.89")
    assert by_email["c@three.com"].employees == 1200
    assert by_email["d@four.com"].revenue is None and by_email["d@four.com"].employees is None
    imp = Import.objects.get()
    reasons = [(i.row, i.column, i.reason) for i in imp.issues.filter(kind="warning")]
    assert (5, "Annual Revenue", "Annual revenue: cannot be negative; imported without it") in (
        reasons
    )


def test_date_columns_become_iso_dates(workspace, tmp_path):
    rows = [
        ["Email", "Create Date", "Last Activity Date", "Favourite date"],
        ["a@one.com", "45352", "03/01/2026 2:30 PM", "someday"],
    ]
    run(write_csv(tmp_path / "dates.csv", rows))
    assert Lead.objects.get().custom == {
        "created_date": "2024-03-01",  # an Excel serial number
        "last_activity_date": "2026-03-01 14:30:00",
        "favourite_date": "someday",
    }


def test_an_xlsx_workbook_is_streamed_with_its_types(workspace, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(
        ["Email", "First Name", "Phone", "No. of Employees", "Create Date", "Score", None, None]
    )
    sheet.append(["dana@acme-corp.com", "Dana", 12025550143, 1200.0, datetime(2026, 2, 11), 7.5])
    sheet.append([None, None, None])  # a blank row in the middle
    sheet.append(
        ["fox@xfiles.org", "Fox", "+1 202 555 0188", 250, datetime(2026, 2, 12, 14, 30), 3]
    )
    path = tmp_path / "leads.xlsx"
    workbook.save(path)

    imp = imports.open_import(path)
    assert imp.format == "xlsx" and imp.headers == [
        "Email",
        "First Name",
        "Phone",
        "No. of Employees",
        "Create Date",
        "Score",
    ]
    run(path)
    dana = Lead.objects.get(email="dana@acme-corp.com")
    assert dana.phone_e164 == "+12025550143" and dana.employees == 1200
    assert dana.custom == {"created_date": "2026-02-11", "score": "7.5"}
    fox = Lead.objects.get(email="fox@xfiles.org")
    assert fox.custom["created_date"] == "2026-02-12 14:30:00"
    assert Import.objects.get().counts["new"] == 2


def with_wrong_size(path: Path) -> Path:
    """The workbook as some programs write it: the sheet says it is one cell big."""
    import re
    import zipfile

    out = path.with_name("wrong-size.xlsx")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1"/>', data)
            zout.writestr(item, data)
    return out


def test_xlsx_edge_cases_numbers_as_text_dates_as_numbers_and_a_wrong_size(workspace, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "Notes"  # the active sheet is empty: the data is on another one
    sheet = workbook.create_sheet("Leads")
    sheet.append(["Leads export"])  # a report's title and filter lines above the table
    sheet.append(["Filtered by: Lead Source equals Trade Show"])
    sheet.append([])
    sheet.append(["Email", "Zip", "No. of Employees", "Annual Revenue", "Create Date", "Ratio"])
    sheet.append(["a@one.com", "02134", "1,200", "$2.5M", 45352, 0.1 + 0.2])
    sheet.append(["b@two.com", "00501", 45.0, 1234567.89, "03/01/2026", 1 / 3])
    for i in range(3, 40):
        sheet.append([f"p{i}@three.com", "10001", 10, 100, 45352.5, 2])
    source = tmp_path / "report.xlsx"
    workbook.save(source)
    path = with_wrong_size(source)

    imp = imports.open_import(path)
    assert imp.headers[:2] == ["Email", "Zip"] and imp.mapping[4] == "custom:created_date"
    out = run(path)
    assert "Imported: 39 rows: 39 new" in out
    a = Lead.objects.get(email="a@one.com")
    assert a.employees == 1200 and a.revenue == Decimal("2500000")
    assert a.custom == {"postal_code": "02134", "created_date": "2024-03-01", "ratio": "0.3"}
    b = Lead.objects.get(email="b@two.com")
    assert b.employees == 45 and b.revenue == Decimal("1234567.89")
    assert b.custom == {
        "postal_code": "00501",
        "created_date": "2026-03-01",
        "ratio": "0.333333333333333",
    }
    assert Lead.objects.get(email="p39@three.com").custom["created_date"] == "2024-03-01 12:00:00"
    assert [(i.row, i.kind) for i in Import.objects.get().issues.all()] == []


def test_a_csv_report_with_title_lines_above_the_table(workspace, tmp_path):
    path = tmp_path / "report.csv"
    path.write_text(
        '"Leads by source"\n"As of 2026-03-01"\n\nEmail,First Name,Company\n'
        "a@one.com,Ann,One\nb@two.com,Bo,Two\n"
    )
    imp = imports.open_import(path)
    assert imp.headers == ["Email", "First Name", "Company"]
    run(path)
    assert Lead.objects.count() == 2
    assert Import.objects.get().issues.count() == 0
    empty_named = tmp_path / "unnamed.csv"
    empty_named.write_text("Email,,\na@three.com,x,y\n")  # one named column, two unnamed
    assert imports.open_import(empty_named).headers == ["Email"]


def test_a_spreadsheet_named_xlsx_that_is_not_one_is_refused(db, tmp_path):
    path = tmp_path / "leads.xlsx"
    path.write_text("Email\na@b.co\n")
    with pytest.raises(CommandError, match="not an Excel workbook"):
        run(path)
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    with pytest.raises(CommandError, match="save it as .xlsx or CSV"):
        run(tmp_path / "old.xls")


def test_a_bad_row_never_stops_the_file(workspace, tmp_path):
    huge = "x" * 1_100_000  # over the cell size limit: the parser refuses this record
    rows = [
        ["Email", "Company"],
        ["ok1@acme.com", "Acme"],
        ["bad@acme.com", huge],
        ["not an email", "Acme"],
        [""],
        ["ok2@acme.com", "Acme"],
    ]
    run(write_csv(tmp_path / "bad.csv", rows))
    assert set(Lead.objects.values_list("email", flat=True)) == {"ok1@acme.com", "ok2@acme.com"}
    imp = Import.objects.get()
    assert imp.counts["new"] == 2 and imp.counts["invalid"] == 2
    issues = {(r["row"], r["column"]): r["reason"] for r in report(imp)}
    assert "could not be read" in issues[("3", "(row)")]
    assert issues[("4", "Email")] == "Email: is not a valid email address"


# dry run, report, commit ------------------------------------------------------------------------


def test_the_dry_run_counts_and_reports_every_row_and_stores_nothing(workspace, tmp_path):
    existing = capture({"email": "known@acme-corp.com", "first_name": "Known"}).lead
    rows = [
        ["Email", "First Name", "Company", "Phone"],
        ["new1@acme-corp.com", "New", "Acme", ""],
        ["KNOWN@acme-corp.com", "Known", "Acme", ""],
        ["new1@acme-corp.com", "Again", "Acme", ""],
        ['=HYPERLINK("http://evil")', "Formula", "Acme", ""],
        ["", "", "", ""],
        ["new2@acme-corp.com", "Two", "Acme", "call me"],
    ]
    path = write_csv(tmp_path / "list.csv", rows)
    out = run(path, "--dry-run", "--report", tmp_path / "report.csv")
    assert (
        "Dry run (nothing stored): 5 rows: 2 new, 1 duplicate of existing, 1 duplicate within "
        "file, 1 invalid, 1 warnings" in out
    )
    assert Lead.objects.count() == 1 and Job.objects.filter(kind="import_file").count() == 0

    with open(tmp_path / "report.csv", newline="", encoding="utf-8") as f:
        lines = list(csv.DictReader(f))
    assert [(r["row"], r["outcome"], r["column"]) for r in lines] == [
        ("3", "Duplicate of an existing lead", "Email"),
        ("4", "Duplicate within the file", "Email"),
        ("5", "Invalid", "Email"),
        ("7", "Imported with a warning", "Phone"),
    ]
    assert lines[0]["reason"] == f"matches open lead {existing.pk}: updated, not duplicated"
    assert lines[1]["reason"] == "same email as row 2"
    assert lines[2]["value"] == '\'=HYPERLINK("http://evil")'  # formula-safe

    out = run(path)
    assert "Imported: 5 rows: 2 new, 1 duplicate of existing, 1 duplicate within file" in out
    assert Lead.objects.count() == 3
    existing.refresh_from_db()
    assert existing.touch_count == 2  # a duplicate updates the lead it matches
    assert Lead.objects.get(email="new1@acme-corp.com").touch_count == 2
    assert Lead.objects.get(email="new2@acme-corp.com").phone == ""


def test_a_bad_value_is_dropped_with_a_warning_and_the_lead_kept(workspace, tmp_path):
    """Whether the import sees the bad value coming (no digits in a phone, a national number
    with no country, an unknown country, a word for a number or a flag) or only the pipeline
    does (too short for its country), the lead is stored without it and the report says so,
    as the dry run predicted."""
    rows = [
        ["Email", "Phone", "Country", "Employees", "Do Not Call"],
        ["a@acme.com", "ask for Bob", "US", "10", ""],
        ["b@acme.com", "(212) 555-0143", "", "", ""],
        ["c@acme.com", "+1 555", "US", "", ""],
        ["d@acme.com", "", "Atlantis", "", ""],
        ["e@acme.com", "", "", "lots", "maybe"],
        ["f@acme.com", "+44 20 7946 0000", "", "-5", "yes"],
        ["not an email", "ask for Bob", "", "", ""],
    ]
    path = write_csv(tmp_path / "list.csv", rows)
    run(path, "--dry-run")
    out = run(path)
    assert "7 rows: 6 new, 0 duplicate of existing, 0 duplicate within file, 1 invalid, " in out
    imp = Import.objects.get()
    warnings = [(r["row"], r["column"], r["reason"]) for r in report(imp)]
    assert warnings == [
        ("2", "Phone", f"Phone: {NOT_A_NUMBER}; imported without it"),
        ("3", "Phone", f"Phone: {NOT_A_NUMBER}; imported without it"),
        ("4", "Phone", f"Phone: {NOT_POSSIBLE}; imported without it"),
        ("5", "Country", f"Country: {UNKNOWN_COUNTRY}; imported without it"),
        ("6", "Employees", "Employees: must be a number; imported without it"),
        ("6", "Do Not Call", "Do not call (yes/no): must be true or false; imported without it"),
        ("7", "Employees", "Employees: cannot be negative; imported without it"),
        ("8", "Email", "Email: is not a valid email address"),
    ]
    dry = [(r["row"], r["column"], r["reason"]) for r in report(imp, "dry_run")]
    assert dry == warnings
    leads = {lead.email: lead for lead in Lead.objects.all()}
    assert [leads[f"{x}@acme.com"].phone for x in "abcdef"] == [
        "",
        "",
        "",
        "",
        "",
        "+44 20 7946 0000",
    ]
    assert (leads["a@acme.com"].country, leads["a@acme.com"].employees) == ("US", 10)
    assert leads["d@acme.com"].country == "" and leads["f@acme.com"].employees is None
    assert leads["f@acme.com"].do_not_call is True


NOT_A_NUMBER = "is not a phone number (add the country code, e.g. +44 20 7946 0000)"
NOT_POSSIBLE = "is not a possible phone number for its country"
UNKNOWN_COUNTRY = "unknown country (use an ISO code such as US, GB, DE)"


def test_a_row_of_a_stored_lead_fills_its_blanks_and_keeps_what_it_had(workspace, tmp_path):
    stored = capture(
        {"email": "kim@acme-corp.com", "company": "Acme", "custom": {"tier": "gold"}}
    ).lead
    stored.refresh_from_db()
    rows = [
        ["Email", "Company", "Title", "Annual Revenue", "No. of Employees", "Tier", "Shirt Size"],
        ["kim@acme-corp.com", "Other Co", "CFO", "$1,250,000.50", "1,200", "silver", "M"],
        ["new@acme-corp.com", "Acme", "", "", "", "", ""],
    ]
    out = run(write_csv(tmp_path / "list.csv", rows))
    assert "1 new, 1 duplicate of existing" in out
    lead = Lead.objects.get(pk=stored.pk)
    assert (lead.company, lead.title, lead.seniority) == ("Acme", "CFO", "c_level")
    assert lead.revenue == Decimal("1250000.50") and lead.employees == 1200
    assert lead.custom == {"tier": "gold", "shirt_size": "M"}  # the stored value wins
    assert lead.touch_count == 2
    assert lead.score > stored.score and lead.score_parts != stored.score_parts
    assert lead.events.filter(kind="recaptured").count() == 1


def test_importing_the_same_file_again_creates_nothing(workspace, tmp_path):
    rows = [["Email", "Company"], ["a@acme.com", "Acme"], ["", "No Email Inc"]]
    path = write_csv(tmp_path / "list.csv", rows)
    run(path)
    copy = tmp_path / "renamed copy.csv"
    copy.write_bytes(path.read_bytes())
    out = run(copy)
    assert "Already imported (import" in out and "Nothing new to do" in out
    assert Lead.objects.count() == 2 and Import.objects.count() == 1


def test_a_new_export_from_the_same_crm_does_not_duplicate_its_leads(workspace, tmp_path):
    run(write_csv(tmp_path / "monday.csv", [SALESFORCE_API, SALESFORCE_ROW]))
    changed = list(SALESFORCE_ROW)
    changed[5] = ""  # no email now: only the Salesforce id can recognise the lead
    changed[3] = "COO"
    out = run(write_csv(tmp_path / "tuesday.csv", [SALESFORCE_API, changed]))
    assert "0 new, 1 duplicate of existing" in out
    assert Lead.objects.count() == 1


def test_a_purchased_lists_cost_goes_on_its_campaign_once(workspace, tmp_path):
    rows = [
        ["Company", "Email", "City"],
        ["Nova Labs", "ceo@novalabs.io", "Austin"],
        ["Quill AI", "hello@quill.ai", "Denver"],
    ]
    path = write_csv(tmp_path / "funded-startups.csv", rows)
    run(path, "--campaign", "Funded startups Q1", "--cost", "2,500")
    run(path, "--campaign", "Funded startups Q1", "--cost", "2,500")
    campaign = Campaign.objects.get(name="Funded startups Q1")
    assert campaign.cost == Decimal("2500.00")
    assert (campaign.channel, str(campaign.starts_on)) == ("list_purchase", "2026-03-02")
    assert {lead.source for lead in Lead.objects.all()} == {"list_purchase"}
    assert {lead.campaign_id for lead in Lead.objects.all()} == {campaign.pk}


def test_a_list_is_not_emailed_and_its_owners_get_one_digest(workspace, tmp_path, smtp):
    """A purchased list: nobody on it wrote to us, so no auto-response reaches them; the reps get
    one email each for the whole import, not one per lead."""
    from leadline.core.models import AutoResponse

    AutoResponse.objects.create(name="Thanks", source="", subject="Thanks!", body="Hi {first_name}")
    workspace.americas.mql_threshold = 0  # every lead arrives over the line
    workspace.americas.save()
    rows = [["Company", "Email"]] + [[f"Startup {i}", f"ceo@startup{i}.io"] for i in range(5)]
    run(write_csv(tmp_path / "funded.csv", rows), "--campaign", "Funded Q1", "--cost", "900")
    run_until_idle()
    owners = {lead.owner.email for lead in Lead.objects.all()}
    assert owners == {"jordan@example.com", "riley@example.com"}
    assert sorted((m["to"][0], m["subject"]) for m in smtp.messages) == [
        ("jordan@example.com", "3 new leads for you from the import of funded.csv"),
        ("riley@example.com", "2 new leads for you from the import of funded.csv"),
    ]
    campaign = Campaign.objects.get(name="Funded Q1")
    assert (
        f"/leads/?owner=me&created_after=2026-03-02T15:00&campaign={campaign.pk}"
        in (smtp.messages[0]["body"])
    )
    assert not Job.objects.filter(status="pending").exists()
    for lead in Lead.objects.all():  # announced all the same: over the MQL line on arrival
        assert lead.events.filter(kind="mql").exists()
    # A person who writes in is still answered at once.
    capture({"email": "dana@acme-corp.com", "first_name": "Dana"}, channel="form")
    run_until_idle()
    assert ["dana@acme-corp.com"] in [m["to"] for m in smtp.messages]


def test_only_the_imports_own_leads_are_kept_quiet(workspace, tmp_path):
    """The import's new leads get only their quiet fan-out job (no owner email queued, no
    auto-response); a lead that writes in meanwhile is announced as ever, and a row matching
    it does not silence it."""
    written = capture({"email": "dana@acme-corp.com", "first_name": "Dana"}, channel="form")
    rows = [["Email", "First Name"], ["dana@acme-corp.com", "Dana"]]
    rows += [[f"p{i}@startup{i}.io", f"P{i}"] for i in range(4)]
    run(write_csv(tmp_path / "list.csv", rows))
    imported = set(Lead.objects.exclude(pk=written.lead.pk).values_list("pk", flat=True))
    assert len(imported) == 4
    jobs = Job.objects.filter(status="pending")
    assert (
        sorted(jobs.filter(lead_id__in=imported).values_list("kind", flat=True))
        == ["import_lead_captured"] * 4
    )
    assert set(jobs.filter(lead_id=written.lead.pk).values_list("kind", flat=True)) == {
        "notify_owner",
        "lead_captured",
    }


def run_rest(imp: Import, batch_size: int = 2) -> None:
    """Run an import's remaining slices to its end, as the background runner does."""
    while imports.run(imp, batch_size=batch_size):
        pass
    imp.refresh_from_db()


def counts(**given: int) -> dict:
    """An import's counts: the given ones, zero for the rest."""
    return {key: given.get(key, 0) for key in imports.COUNT_KEYS}


def test_a_commit_interrupted_between_batches_resumes_without_duplicates(workspace, tmp_path):
    rows = [["Email", "First Name"]] + [[f"p{i}@acme.com", f"P{i}"] for i in range(5)]
    rows.append(["p1@acme.com", "Again"])  # a duplicate of a row in the first batch
    imp = imports.open_import(write_csv(tmp_path / "list.csv", rows))
    imports.start(imp, "commit")
    more = imports.run(imp, budget=0, batch_size=2)  # one batch, then "killed"
    imp.refresh_from_db()
    assert more and imp.rows_done == 2 and Lead.objects.count() == 2
    run_rest(imp)
    assert imp.status == "done" and imp.rows_done == 6
    assert Lead.objects.count() == 5
    assert imp.counts == counts(new=5, duplicate_in_file=1)
    assert [(r["row"], r["reason"]) for r in report(imp)] == [("7", "same email as row 3")]


def test_a_row_that_became_a_new_lead_counts_as_new_though_its_email_came_before(
    workspace, tmp_path
):
    """Row 2 is the stored Dana by similarity (name, company and phone agree), so her file
    email is not on any lead; row 3, the same email a batch later with nothing else in common
    with the stored Dana, becomes a lead of its own. It counts as new: the counts add up to
    the leads created."""
    stored = capture(
        {
            "email": "dana.scully@fbi.gov",
            "first_name": "Dana",
            "last_name": "Scully",
            "company": "Acme",
            "phone": "+1 202 555 0143",
        }
    ).lead
    rows = [
        ["Email", "First Name", "Last Name", "Company", "Phone"],
        ["dana@acme-corp.com", "Dana", "Scully", "Acme", "+1 202 555 0143"],
        ["dana@acme-corp.com", "Dana", "Scully", "Other Inc", ""],
    ]
    out = run(write_csv(tmp_path / "list.csv", rows), "--batch-size", "1")
    created = Lead.objects.exclude(pk=stored.pk).get()
    assert created.email == "dana@acme-corp.com"
    assert "2 rows: 1 new, 1 duplicate of existing, 0 duplicate within file" in out
    imp = Import.objects.get()
    assert imp.counts["new"] == sum(b.created_count for b in imp.batches.all()) == 1
    assert [(r["row"], r["reason"]) for r in report(imp)] == [
        ("2", f"matches open lead {stored.pk}: updated, not duplicated")
    ]


def test_a_row_whose_earlier_lead_was_closed_meanwhile_counts_as_new(workspace, tmp_path):
    """A long import runs in slices; between two, a rep disqualifies a lead it created. A later
    row with that email is a new lead (only open leads are matched), and counted as one."""
    from leadline.leads import actions

    rows = [["Email", "First Name"], ["p1@acme.com", "P1"], ["p2@acme.com", "P2"]]
    rows.append(["p1@acme.com", "Again"])
    imp = imports.open_import(write_csv(tmp_path / "list.csv", rows))
    imports.start(imp, "commit")
    assert imports.run(imp, budget=0, batch_size=2)  # one batch, then the slice ends
    first = Lead.objects.get(email="p1@acme.com")
    actions.transition(first, "disqualified", workspace.owner, reason_code="spam")
    run_rest(imp)
    assert Lead.objects.count() == 3
    assert imp.counts == counts(new=3)


def test_the_command_shows_its_progress(workspace, tmp_path):
    rows = [["Email"]] + [[f"p{i}@acme.com"] for i in range(6)]
    path = write_csv(tmp_path / "list.csv", rows)
    err = io.StringIO()
    call_command(
        "import", str(path), "--batch-size", "2", verbosity=2, stdout=io.StringIO(), stderr=err
    )
    lines = err.getvalue().splitlines()
    assert [line.split(" rows")[0] for line in lines] == [
        "  [##########                    ]  33% 2 of about 6",
        "  [####################          ]  67% 4 of about 6",
        "  [##############################] 100% 6 of about 6",
    ]
    assert lines[-1].endswith(
        ": 6 new, 0 duplicate of existing, 0 duplicate within file, 0 invalid, 0 warnings"
    )


def test_the_command_checks_the_settings_before_it_starts(workspace, tmp_path, settings):
    """Not Django's full system checks (seconds of every model, URL and template), but the
    settings ones still stop it."""
    settings.SECRET_KEY = "too short"
    path = write_csv(tmp_path / "list.csv", [["Email"], ["p@acme.com"]])
    with pytest.raises(CommandError, match="LEADLINE_SECRET_KEY is shorter than 32"):
        run(path)
    assert not Import.objects.exists()


def test_an_import_held_by_another_process_is_not_run_twice(workspace, tmp_path):
    imp = imports.open_import(write_csv(tmp_path / "l.csv", [["Email"], ["a@acme.com"]]))
    imports.start(imp, "commit")
    assert imports.claim(imp, "otherhost:1234:cli", imports.clock.now())
    with pytest.raises(imports.DomainError, match="being run by otherhost:1234:cli"):
        imports.run(imp)
    assert Lead.objects.count() == 0


# background runs and the web pages --------------------------------------------------------------


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client, path: Path, kind="leads"):
    with open(path, "rb") as f:
        return client.post("/imports/", {"file": f, "kind": kind})


def test_the_web_flow_upload_map_dry_run_commit(workspace, tmp_path):
    client = login(workspace.manager)
    path = write_csv(
        tmp_path / "hubspot.csv",
        [HUBSPOT, HUBSPOT_ROW, ["52", "Dana", "Scully", "bad-email"] + [""] * 15],
    )
    response = upload(client, path)
    imp = Import.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{imp.pk}/"

    page = client.get(f"/imports/{imp.pk}/").content.decode()
    assert '<select name="col_9" aria-label="Associated Company">' in page
    assert '<option value="company" selected>Company</option>' in page  # Company Name's row

    form = {f"col_{i}": target for i, target in enumerate(imp.mapping)}
    form["col_6"] = ""  # don't keep the lifecycle stage
    form.update(source="webinar", campaign="", cost="", event_kind="", save_as="HubSpot")
    response = client.post(f"/imports/{imp.pk}/configure/", form)
    assert response.status_code == 302
    imp.refresh_from_db()
    assert imp.status == "checked" and imp.dry_counts["new"] == 1
    assert imp.dry_counts["invalid"] == 1 and Lead.objects.count() == 0
    page = client.get(f"/imports/{imp.pk}/").content.decode()
    assert "Dry run: 2 rows checked, nothing stored yet" in page
    assert "Email: is not a valid email address" in page
    assert "Import 1 new lead" in page

    report_csv = b"".join(client.get(f"/imports/{imp.pk}/report.csv").streaming_content)
    assert report_csv.decode("utf-8-sig").splitlines()[1].startswith("3,Invalid,Email,bad-email")

    response = client.post(f"/imports/{imp.pk}/commit/")
    imp.refresh_from_db()
    assert imp.status == "done" and imp.counts["new"] == 1
    lead = Lead.objects.get()
    assert lead.source == "webinar" and "lifecycle_stage" not in lead.custom
    assert not Path(imp.path).exists()  # the uploaded file is removed once imported
    assert ImportMapping.objects.get(name="HubSpot").columns["lifecyclestage"] == ""


def test_a_large_upload_runs_in_the_background_with_progress(workspace, tmp_path, settings):
    settings.LEADLINE_IMPORT_INLINE_BYTES = 10
    client = login(workspace.manager)
    rows = [["Email"]] + [[f"p{i}@acme.com"] for i in range(30)]
    upload(client, write_csv(tmp_path / "l.csv", rows))
    imp = Import.objects.get()
    form = {f"col_{i}": t for i, t in enumerate(imp.mapping)} | {"source": "import"}
    client.post(f"/imports/{imp.pk}/configure/", form)
    progress = client.get(f"/imports/{imp.pk}/progress/").json()
    assert progress["status"] == "checking" and progress["running"] and progress["rows_done"] == 0
    assert "Checking…" in client.get(f"/imports/{imp.pk}/").content.decode()
    run_until_idle()
    assert client.get(f"/imports/{imp.pk}/progress/").json()["counts"]["new"] == 30

    client.post(f"/imports/{imp.pk}/commit/")
    assert Lead.objects.count() == 0
    run_until_idle()
    progress = client.get(f"/imports/{imp.pk}/progress/").json()
    assert progress["status"] == "done" and progress["percent"] == 100
    assert Lead.objects.count() == 30


def test_only_managers_and_marketers_import(workspace, tmp_path):
    rep = login(workspace.owner)
    assert rep.get("/imports/").status_code == 403
    assert upload(rep, write_csv(tmp_path / "l.csv", [["Email"], ["a@b.co"]])).status_code == 403
    assert "Imports</a>" not in rep.get("/").content.decode()
    assert "Imports</a>" in login(workspace.manager).get("/").content.decode()


def test_imports_over_the_api(workspace, tmp_path):
    from leadline.core.models import ApiToken

    _token, raw = ApiToken.issue(workspace.manager, "sync")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    path = write_csv(
        tmp_path / "partner.csv",
        [
            ["Reach me at", "Org", "Notes"],
            ["ana@lima.com.br", "Lima SA", "met at booth"],
            ["broken", "Nobody", ""],
        ],
    )
    with open(path, "rb") as f:
        created = api.post("/api/v1/imports", {"file": f})
    assert created.status_code == 201
    body = created.json()
    assert body["mapping"] == {
        "Reach me at": "custom:reach_me_at",
        "Org": "company",
        "Notes": "custom:description",
    }
    checked = api.post(
        f"/api/v1/imports/{body['id']}/dry-run",
        {"mapping": {"Reach me at": "email"}, "campaign": "Partners"},
        content_type="application/json",
    )
    assert checked.status_code == 200
    assert checked.json()["dry_run"]["new"] == 1 and checked.json()["dry_run"]["invalid"] == 1
    done = api.post(f"/api/v1/imports/{body['id']}/commit").json()
    assert done["status"] == "done" and done["counts"]["new"] == 1
    assert Lead.objects.get().campaign.name == "Partners"
    lines = b"".join(api.get(f"/api/v1/imports/{body['id']}/report").streaming_content)
    assert lines.decode("utf-8-sig").splitlines()[1].startswith("3,Invalid,Reach me at,broken,")
    exported = api.get("/api/v1/exports/leads?format=csv&campaign=Partners")
    text = b"".join(exported.streaming_content).decode("utf-8-sig")
    assert "ana@lima.com.br" in text and "Lima SA" in text

    rep = Client(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(workspace.owner, 'x')[1]}")
    assert rep.get(f"/api/v1/imports/{body['id']}").status_code == 403


# export -----------------------------------------------------------------------------------------


def test_the_filtered_lead_list_exports_to_csv_formula_safe(workspace):
    capture(
        {
            "email": "a@acme-corp.com",
            "first_name": "=cmd|' /C calc'!A0",
            "source": "webinar",
            "custom": {"skus": ["SKU-1", "SKU-2"], "volume": 500},
        }
    )
    capture({"email": "b@acme-corp.com", "first_name": "Bea", "source": "referral"})
    capture({"email": "c@example.de", "first_name": "Cem", "country": "DE", "source": "webinar"})
    client = login(workspace.manager)  # Americas' manager: EMEA's lead is not theirs to see
    response = client.get("/leads/export/?source=webinar&format=csv")
    assert response["Content-Disposition"].startswith('attachment; filename="leads-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["Email"] for r in rows] == ["a@acme-corp.com"]
    assert rows[0]["First name"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["skus"] == "SKU-1; SKU-2" and rows[0]["volume"] == "500"
    assert rows[0]["Owner"] == "jordan" and rows[0]["Stage"] == "suspect"


def test_the_lead_list_exports_to_xlsx(workspace):
    from openpyxl import load_workbook

    capture({"email": "a@acme-corp.com", "first_name": "=1+1", "employees": 40})
    client = login(workspace.manager)
    response = client.get("/leads/export/?format=xlsx")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    header, row = list(workbook.active.iter_rows(values_only=True))
    values = dict(zip(header, row, strict=False))
    assert values["First name"] == "=1+1" and values["Employees"] == 40
    cell = workbook.active.cell(row=2, column=header.index("First name") + 1)
    assert cell.data_type == "s"  # text, never a formula


def test_the_export_command_writes_the_same_file(workspace, tmp_path):
    capture({"email": "a@acme-corp.com", "first_name": "Ann"})
    out = tmp_path / "leads.csv"
    call_command("export", "--out", str(out), "--q", "ann")
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r["First name"] for r in rows] == ["Ann"]


# killed mid-file (a transactional test: last in the module) ---------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_import_killed_mid_file_resumes_with_no_duplicates_and_no_gaps(
    leave_the_database_as_found, tmp_path
):
    """A real `leadline import` process, killed with SIGKILL mid-file, then run again."""
    total = 800

    def name(i: int) -> str:  # a different first name for every row: Baa, Bab, ...
        return "B" + "".join("abcdefghijklmnopqrstuvwxyz"[(i // 26**k) % 26] for k in (2, 1, 0))

    rows = [["Email", "First Name", "Company"]]
    for i in range(total):
        if i % 100 == 7:
            rows.append([f"p{i - 5}@acme.com", "Dup", "Acme"])  # same as an earlier row
        elif i % 100 == 9:
            rows.append(["not-an-email", "Bad", "Acme"])
        else:
            rows.append([f"p{i}@acme.com", name(i), "Acme"])
    path = write_csv(tmp_path / "big.csv", rows)
    env = {**os.environ, "LEADLINE_DATA_DIR": str(tmp_path / "data")}
    if connection.vendor == "sqlite":
        (tmp_path / "data").mkdir()
        database = tmp_path / "data" / "leadline.sqlite3"
        connection.cursor().execute("VACUUM INTO %s", [str(database)])  # the migrated test DB

        def query(sql):
            with sqlite3.connect(database) as db:
                return db.execute(sql).fetchall()
    else:
        settings = connection.settings_dict
        env["DATABASE_URL"] = (
            f"postgres://{settings['USER']}@{settings['HOST']}:"
            f"{settings['PORT']}/{settings['NAME']}"
        )

        def query(sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall()

    command = [sys.executable, "-m", "leadline", "import", str(path), "--batch-size", "40"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline and process.poll() is None:
        try:
            found = query("SELECT rows_done FROM intake_import")
        except (sqlite3.OperationalError, Exception):  # noqa: BLE001 — not created yet
            found = []
        done = found[0][0] if found else 0
        if done >= 120:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 120 <= done < total, "the import was not killed mid-file"
    killed_at = query("SELECT rows_done, status FROM intake_import")[0]
    assert killed_at[1] == "importing" and killed_at[0] < total

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f" after {killed_at[0]:,} rows." in again.stdout.splitlines()[0]

    imported = query("SELECT external_id FROM leads_lead")
    numbers = sorted(int(e.rsplit(":", 1)[1]) for (e,) in imported)
    assert len(numbers) == len(set(numbers)), "a row was imported twice"
    issues = query("SELECT row, kind FROM intake_importissue WHERE phase = 'commit'")
    refused = {row for row, kind in issues if kind in ("invalid", "duplicate_in_file")}
    assert len(issues) == len(set(issues))
    assert set(numbers) | refused == set(range(2, total + 2)), "a row is missing"
    assert not set(numbers) & refused
    status, rows_done = query("SELECT status, rows_done FROM intake_import")[0]
    assert (status, rows_done) == ("done", total)
