from hypothesis import given, settings
from hypothesis import strategies as st

from leadline.quality import enrich
from leadline.quality.normalize import (
    company_domain,
    is_free_mail,
    normalize_country,
    normalize_domain,
    normalize_email,
    normalize_name,
    normalize_phone,
)


def test_it_trims_and_case_folds_email():
    assert normalize_email("  Dana.Scully@FBI.gov ") == ("dana.scully@fbi.gov", None)


def test_it_rejects_malformed_email():
    for bad in ("dana", "dana@", "@fbi.gov", "dana@fbi", "da na@fbi.gov"):
        assert normalize_email(bad)[1] == "is not a valid email address", bad


def test_it_formats_phone_in_e164_with_the_country_as_default_region():
    assert normalize_phone("020 7946 0018", "GB")[1] == "+442079460018"
    assert normalize_phone("(202) 555-0143", "US")[1] == "+12025550143"
    assert normalize_phone("+49 30 901820", "")[1] == "+4930901820"


def test_it_reports_unparseable_phone():
    raw, e164, problem = normalize_phone("call me maybe", "US")
    assert e164 == "" and "phone" in problem


def test_company_domain_comes_from_website_or_business_email():
    assert company_domain("a@gmail.com", "") == ""
    assert company_domain("a@acme.io", "") == "acme.io"
    assert company_domain("a@gmail.com", "https://www.Acme.com/about") == "acme.com"
    assert is_free_mail("someone@hotmail.com")


def test_it_recognises_country_codes_and_names():
    assert normalize_country("de") == "DE"
    assert normalize_country("United Kingdom") == "GB"
    assert normalize_country("España") == "ES"
    assert normalize_country("Atlantis") == ""


def test_it_title_cases_names_typed_in_one_case_only():
    assert normalize_name("  dana   SCULLY ".lower()) == "Dana Scully"
    assert normalize_name("McDonald") == "McDonald"


def test_it_reads_seniority_and_department_from_titles():
    assert enrich.seniority("VP, Sales") == "vp"
    assert enrich.seniority("Co-Founder & CEO") == "c_level"
    assert enrich.seniority("Head of Procurement") == "director"
    assert enrich.department("Head of Procurement") == "operations"
    assert enrich.seniority("") == ""


@settings(deadline=None, derandomize=True)
@given(st.text())
def test_normalisers_never_raise_and_are_idempotent(text):
    email, _ = normalize_email(text)
    assert normalize_email(email)[0] == email
    name = normalize_name(text)
    assert normalize_name(name) == name
    domain = normalize_domain(text)
    assert normalize_domain(domain) == domain
    normalize_phone(text, "US")
    normalize_country(text)
    enrich.seniority(text)
