"""Lead-to-account matching: domain first, then a fuzzy company name in the same country."""

from leadline.deals.models import Account
from leadline.intake.pipeline import capture
from leadline.leads.models import Event, Lead
from leadline.quality.accounts import link_account, match_account, record_account_keys


def test_the_email_domain_finds_the_account(db):
    acme = Account.objects.create(name="Acme", domain="acme-corp.com")
    Account.objects.create(name="Acme Corp", country="US")  # a namesake without the domain
    found = match_account({"email": "dana@acme-corp.com", "company": "Acme Corp", "country": "US"})
    assert found.account == acme and found.method == "domain"
    assert "acme-corp.com" in found.reason


def test_the_website_of_the_account_counts_as_its_domain(db):
    acme = Account.objects.create(name="Acme", website="https://www.acme-corp.com/about")
    assert match_account({"website": "acme-corp.com"}).account == acme


def test_free_mail_is_not_a_company_domain(db):
    Account.objects.create(name="Google", domain="gmail.com")
    assert match_account({"email": "dana@gmail.com"}) is None


def test_a_company_name_variant_matches_in_the_same_country(db):
    smith = Account.objects.create(name="Smith & Jones Ltd.", country="GB")
    found = match_account({"company": "smith and jones limited", "country": "GB"})
    assert found.account == smith and found.method == "name" and found.score == 1.0
    typo = match_account({"company": "Smith & Jone Ltd", "country": "GB"})
    assert typo.account == smith and 0.93 <= typo.score < 1.0
    assert match_account({"company": "Smith & Jones", "country": "US"}) is None
    assert match_account({"company": "Smith & Jones"}).account == smith  # country unknown
    assert match_account({"company": "Smithson Partners", "country": "GB"}) is None


def test_renamed_accounts_are_found_once_rekeyed(db):
    acme = Account.objects.create(name="Acme")
    assert match_account({"company": "Acme"}).account == acme
    Account.objects.filter(pk=acme.pk).update(name="Globex")
    acme.refresh_from_db()
    record_account_keys([acme])
    assert match_account({"company": "Acme"}) is None
    assert match_account({"company": "Globex Inc"}).account == acme


def test_linking_stores_the_account_with_a_timeline_entry(workspace):
    acme = Account.objects.create(name="Acme", domain="acme-corp.com")
    lead = capture({"email": "dana@acme-corp.com", "company": "Acme"}).lead
    Lead.objects.filter(pk=lead.pk).update(account=None)
    lead.refresh_from_db()
    found = link_account(lead)
    assert found.account == acme and Lead.objects.get(pk=lead.pk).account == acme
    event = Event.objects.get(lead=lead, kind="account_matched")
    assert event.data["method"] == "domain" and "Acme" in event.summary
    assert link_account(Lead.objects.get(pk=lead.pk)) is None  # already linked: left alone
