"""Lead-to-account matching: domain first, then a fuzzy company name in the same country."""

from leadline.deals.models import Account
from leadline.intake.pipeline import capture
from leadline.leads.models import Event, Lead
from leadline.quality.accounts import link_account, match_account, record_account_keys
from leadline.quality.models import AccountKey


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


def test_a_renamed_account_is_found_by_its_new_name(db):
    acme = Account.objects.create(name="Acme")
    assert match_account({"company": "Acme"}).account == acme
    acme.name = "Globex"
    acme.save()
    assert match_account({"company": "Acme"}) is None
    assert match_account({"company": "Globex Inc"}).account == acme


def test_accounts_inserted_in_bulk_are_matched_without_writing(db, django_assert_num_queries):
    older = Account.objects.create(name="Initech")
    bulk = Account.objects.bulk_create([Account(name="Umbrella Corp", country="GB")])[0]
    with django_assert_num_queries(4):  # newest keyed, unkeyed accounts, keys, accounts
        assert match_account({"company": "Umbrella", "country": "GB"}).account == bulk
    assert AccountKey.objects.filter(account=bulk).count() == 0
    Account.objects.filter(pk=older.pk).update(name="Initrode")  # no signal: stale until...
    record_account_keys([Account.objects.get(pk=older.pk)])  # ...the owner of the change calls
    assert match_account({"company": "Initrode"}).account.pk == older.pk


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
