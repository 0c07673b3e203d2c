"""Enrichment: derived values, a company reference file, the provider registry, provenance."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from leadline.intake.pipeline import capture
from leadline.leads.models import Event, Lead
from leadline.quality import enrich
from leadline.quality.models import EnrichedValue


def test_derived_values_need_no_outside_service():
    got = enrich.DerivedProvider().enrich(
        {"email": "Info@Acme-Corp.com", "phone": "+44 20 7946 0958", "title": "Head of Sales"}
    )
    assert got["company_domain"] == "acme-corp.com" and got["role_address"] is True
    assert got["free_mail"] is False
    assert (got["country"], got["phone_line_type"], got["timezone"]) == (
        "GB",
        "fixed_line",
        "Europe/London",
    )
    assert (got["seniority"], got["department"]) == ("director", "sales")


def test_free_mail_gives_no_company_and_a_country_gives_its_time_zone():
    got = enrich.DerivedProvider().enrich({"email": "dana@gmail.com", "country": "de"})
    assert "company_domain" not in got and got["free_mail"] is True
    assert got["timezone"] == "Europe/Berlin" and "country" not in got  # it was given


def test_the_company_file_fills_firmographics(tmp_path):
    path = tmp_path / "companies.csv"
    path.write_text(
        "Domain,Name,Industry,Employees,Revenue,Country\n"
        'acme-corp.com,Acme Corporation,Manufacturing,"1,200",$50M,United States\n'
    )
    provider = enrich.CompanyFileProvider(str(path))
    got = provider.enrich({"email": "dana@acme-corp.com"})
    assert got == {
        "company": "Acme Corporation",
        "industry": "Manufacturing",
        "employees": 1200,
        "revenue": 50,
        "country": "US",
    }
    assert provider.enrich({"email": "dana@globex.com"}) == {}


class Down:
    name = "down"

    def enrich(self, record):
        raise TimeoutError("no answer in 2 s")


class Firmo:
    name = "firmo"

    def enrich(self, record):
        return {"industry": "Software", "employees": 50, "company_domain": "wrong.example"}


def test_providers_fill_only_blanks_in_order_and_a_failure_is_reported():
    record = {"email": "dana@acme-corp.com", "industry": "Retail"}
    result = enrich.enrich(record, [Down(), enrich.DerivedProvider(), Firmo()])
    assert result.failed == {"down": "TimeoutError: no answer in 2 s"}
    assert result.values["company_domain"] == "acme-corp.com"  # the first provider wins
    assert result.provenance["company_domain"] == "derived"
    assert result.values["employees"] == 50 and result.provenance["employees"] == "firmo"
    assert "industry" not in result.values  # the lead gave one


def test_the_registry(monkeypatch):
    monkeypatch.setattr(enrich, "_registry", {})
    assert [p.name for p in enrich.providers()] == ["derived"]
    enrich.register(Firmo())
    assert [p.name for p in enrich.providers()] == ["derived", "firmo"]
    enrich.unregister("firmo")
    with pytest.raises(TypeError):
        enrich.register(object())


def test_enriching_a_stored_lead_keeps_provenance(workspace):
    lead = capture({"email": "dana@acme-corp.com", "phone": "+49 30 123456"}).lead
    Lead.objects.filter(pk=lead.pk).update(timezone="", industry="")
    lead.refresh_from_db()
    result = enrich.enrich_lead(lead, [enrich.DerivedProvider(), Firmo(), Down()])
    stored = Lead.objects.get(pk=lead.pk)
    assert stored.timezone == "Europe/Berlin" and stored.industry == "Software"
    assert result.failed == {"down": "TimeoutError: no answer in 2 s"}
    row = EnrichedValue.objects.get(lead=lead, field="industry")
    assert (row.value, row.provider, row.applied) == ("Software", "firmo", True)
    assert EnrichedValue.objects.get(lead=lead, field="free_mail").applied is False
    event = Event.objects.get(lead=lead, kind="enriched")
    assert "industry from firmo" in event.summary and "unavailable: down" in event.summary


class CompanyService(BaseHTTPRequestHandler):
    """A company-data service on loopback: knows acme-corp.com, fails once on flaky.io."""

    calls: list[str] = []

    def do_GET(self):
        CompanyService.calls.append(self.path)
        if self.path == "/companies/acme-corp.com":
            body = json.dumps({"industry": "Manufacturing", "employees": 1200, "ceo": "W. Coyote"})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())
        elif self.path == "/companies/flaky.io" and CompanyService.calls.count(self.path) == 1:
            self.send_response(503)
            self.end_headers()
        elif self.path == "/companies/flaky.io":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"industry": "Software"}')
        elif self.path == "/companies/down.io":
            self.send_response(500)
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def service():
    server = ThreadingHTTPServer(("127.0.0.1", 0), CompanyService)
    CompanyService.calls = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/companies/{{domain}}"
    server.shutdown()


def test_an_http_provider_asks_once_per_domain_and_keeps_only_its_fields(service):
    provider = enrich.HttpProvider("firmo", service, fields=("industry", "employees"))
    record = {"email": "dana@acme-corp.com"}
    assert provider.enrich(record) == {"industry": "Manufacturing", "employees": 1200}
    assert provider.enrich(record) == {"industry": "Manufacturing", "employees": 1200}
    assert CompanyService.calls == ["/companies/acme-corp.com"]  # the second came from cache
    assert provider.enrich({"email": "x@unknown.org"}) == {}  # 404: nothing known


def test_an_http_provider_retries_then_gives_up(service):
    provider = enrich.HttpProvider("firmo", service, retries=1)
    assert provider.enrich({"website": "flaky.io"}) == {"industry": "Software"}
    result = enrich.enrich({"website": "down.io"}, [provider])
    assert result.values == {} and "HTTP 500" in result.failed["firmo"]
    assert CompanyService.calls.count("/companies/down.io") == 2
