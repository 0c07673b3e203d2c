"""The matcher's normalisers and the enrichment helpers on arbitrary text: they never raise, and
normalising twice gives what normalising once gave."""

from hypothesis import example, given, settings
from hypothesis import strategies as st

from leadline.quality import enrich
from leadline.quality.accounts import account_keys
from leadline.quality.matching import names

IDEMPOTENT = (
    names.given_name,
    names.surname,
    names.company,
    names.email,
    names.phone,
    names.city,
    names.postcode,
    names.country,
    names.text,
    names.digits,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text())
@example("d r")  # joins into a title
@example("j. r.")  # joins into a suffix
@example("m.r.s")
@example("0@𝘈")  # a compatibility letter decomposes to a capital
@example("0@.")  # nothing left of the domain
@example("0@\r<")  # a control character before the bracket
def test_matching_normalisers_never_raise_and_are_idempotent(text):
    for fn in IDEMPOTENT:
        once = fn(text)
        assert once is None or isinstance(once, str)
        if once:
            assert fn(once) == once, fn.__name__


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(), st.text())
def test_keys_and_derived_values_never_raise(a, b):
    names.soundex(names.surname(a))
    names.given_key(a)
    names.split_full_name(a)
    names.email_user(names.email(a))
    enrich.DerivedProvider().enrich({"email": a, "phone": b, "title": a, "country": b})

    class Account:
        name, domain, website = a, b, a

    assert account_keys(Account)
