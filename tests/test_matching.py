"""Duplicate matching: comparison keys, blocking, the model, clustering, the index and the CLI.

Pure tests on small data built here; they need no Django settings
(``python -m pytest -p no:django tests/test_matching.py``).
"""

import csv
import dataclasses
import json
import random
from pathlib import Path

import numpy as np

from leadline.quality.matching import names
from leadline.quality.matching.blocking import candidate_pairs
from leadline.quality.matching.cluster import cluster, components
from leadline.quality.matching.compare import NULL, Pairs
from leadline.quality.matching.dedupe import (
    canonical_header,
    estimate_model,
    find_duplicates,
    main,
)
from leadline.quality.matching.index import MatchIndex, blocking_keys, score_candidates
from leadline.quality.matching.leads import lead_settings
from leadline.quality.matching.model import MatchModel

FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Linda",
    "Michael",
    "Elizabeth",
    "William",
    "Barbara",
    "David",
    "Susan",
    "Richard",
    "Jessica",
    "Joseph",
    "Sarah",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Okafor",
    "Lindqvist",
    "Brannigan",
    "Castellanos",
    "Nakamura",
    "Oyelaran",
]
CITIES = ["London", "Leeds", "Madrid", "Berlin", "Paris", "Boston", "Austin", "Lyon"]


def _people(n: int, seed: int = 1):
    """n distinct people, then a duplicate of every fourth one and a colleague of every tenth."""
    rng = random.Random(seed)
    rows, entity = [], []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST) + rng.choice(["", "s", "er", "ley"])
        company = f"{rng.choice(LAST)} {rng.choice(['Labs', 'Foods', 'Media', 'Works'])}"
        rows.append(
            {
                "first_name": first,
                "last_name": last,
                "email": f"{first}.{last}{i}@{company.split()[0].lower()}.com".lower(),
                "phone": f"+44 20 7{i:03d} {rng.randint(1000, 9999)}",
                "company": company + " Ltd",
                "city": rng.choice(CITIES),
                "postcode": "",
                "country": "GB",
            }
        )
        entity.append(i)
    for i in range(0, n, 4):
        dup = dict(rows[i])
        dup["email"] = dup["email"].upper()
        dup["phone"] = "0" + dup["phone"][4:]
        dup["company"] = dup["company"].replace(" Ltd", ", Limited")
        dup["first_name"] = dup["first_name"][0] + "."
        rows.append(dup)
        entity.append(i)
    for i in range(1, n, 10):
        mate = dict(rows[i])
        mate["first_name"], mate["last_name"] = "Quentin", "Zabrowski"
        mate["email"] = f"quentin.zabrowski{i}@{rows[i]['email'].split('@')[1]}"
        rows.append(mate)
        entity.append(n + i)
    return rows, np.asarray(entity)


# --- comparison keys ------------------------------------------------------------------------


def test_names_fold_titles_and_nicknames():
    assert names.given_name("Dr. Mary-Ann") == "maryann"
    assert names.surname("O'Brien-Smith Jr.") == "obriensmith"
    assert names.given_key("Bill") == names.given_key("William") == "william"
    assert names.given_key("Pepe") == names.given_key("José")
    assert names.fold("Zoë Müller") == "zoe muller"


def test_email_handles_case_plus_tags_gmail_dots_and_domain_typos():
    assert names.email("John.Smith+news@GoogleMail.com") == "johnsmith@gmail.com"
    assert names.email("jsmith@gmial.com") == "jsmith@gmail.com"
    assert names.email("j.smith+x@acme.com") == "j.smith@acme.com"
    assert names.email_user("info@acme.com") is None
    assert names.email("not an address") is None


def test_phone_key_ignores_format():
    key = names.phone("+44 20 7946 0958")
    assert key == names.phone("020 7946 0958") == names.phone("0044 (0)20 7946-0958")
    assert names.phone("+1 (415) 555-0123 ext 12") == names.phone("415.555.0123")
    assert names.phone("123") is None


def test_company_drops_legal_forms_and_punctuation():
    key = names.company("Smith & Jones Ltd.")
    assert key == names.company("SMITH AND JONES LIMITED") == names.company("Smith + Jones")
    assert names.company("Rosa y Campos S.L.") == names.company("Rosa y Campos SL")
    assert names.company("Keller Bau GmbH & Co. KG") == "keller bau"
    assert names.company("Acme SARL") == names.company("ACME, Inc.")


def test_soundex_and_full_name_split():
    assert names.soundex("robert") == names.soundex("rupert") == "r163"
    assert names.split_full_name("Smith, John") == ("John", "Smith")
    assert names.split_full_name("Ludwig van Beethoven") == ("Ludwig", "van Beethoven")


# --- comparisons ----------------------------------------------------------------------------


def _levels(a: dict, b: dict):
    settings = lead_settings()
    frame = settings.frame({k: [a.get(k), b.get(k)] for k in set(a) | set(b)}, 2)
    pairs = Pairs(frame, np.array([0]), frame, np.array([1]))
    return {
        c.name: c.labels[lv] if lv >= 0 else None
        for c, lv in zip(settings.comparisons, settings.levels(pairs)[0], strict=False)
    }


def test_name_levels_cover_swaps_nicknames_initials_and_typos():
    base = {"first_name": "William", "last_name": "Brannigan"}
    assert _levels(base, {"first_name": "Bill", "last_name": "Brannigan"})["name"].startswith(
        "nick"
    )
    assert _levels(base, {"first_name": "Brannigan", "last_name": "William"})["name"].startswith(
        "nickname or swapped"
    )
    assert _levels(base, {"first_name": "W.", "last_name": "Brannigan"})["name"] == "initial"
    assert _levels(base, {"first_name": "William", "last_name": "Branigan"})["name"] == "typo"
    assert _levels(base, {"first_name": "Quentin", "last_name": "Zabrowski"})["name"] == "different"


def test_email_typo_is_not_an_appended_disambiguator():
    a = {"email": "maria.lopez@acme.com"}
    assert _levels(a, {"email": "maria.lpez@acme.com"})["email"] == "typo"
    assert _levels({"email": "brandon@acme.com"}, {"email": "brandon8@acme.com"})["email"] == (
        "different"
    )
    assert _levels(a, {"email": "maria.lopez@gmail.com"})["email"] == "same user, other domain"


def test_organisation_and_location_levels():
    a = {"company": "Acme Ltd", "phone": "+44 20 7946 0958", "city": "London", "postcode": "N1 9GU"}
    b = {"company": "ACME Limited", "phone": "020 7946 0985", "city": "london", "postcode": "n19gu"}
    lv = _levels(a, b)
    assert lv["organisation"] == "company same, phone one typo"
    assert lv["location"] == "city and postcode"
    assert _levels({}, {})["organisation"] is None


def _variants(rows: list[dict]) -> list[dict]:
    """Each row re-entered with each of a few changes, for every level of every comparison."""
    out = []
    for r in rows:
        user, _, domain = r["email"].partition("@")
        slip = r["phone"][:-2] + r["phone"][-1] + r["phone"][-2]
        similar = r["company"].replace("a", "e", 1)
        changes = [
            {"first_name": r["last_name"], "last_name": r["first_name"]},
            {"first_name": {"William": "Bill", "Robert": "Bob"}.get(r["first_name"], "Jim")},
            {"first_name": r["first_name"][0] + "."},
            {"last_name": r["last_name"][:-1] + "x"},
            {"first_name": ""},
            {"last_name": "", "email": ""},
            {"email": f"{user}@gmail.com", "phone": ""},
            {"email": f"{user[:2]}{user[3]}{user[2]}{user[4:]}@{domain}"},
            {"phone": slip},
            {"company": similar, "city": r["city"][:-1] + "z"},
            {"company": similar, "phone": slip},
            {"company": "Other Co", "phone": slip},
            {"company": ""},
            {"company": "", "phone": slip},
            {"company": "", "phone": "", "city": "", "country": ""},
            {"country": "FR", "city": "Lille"},
            {"country": ""},
            {"phone": ""},
        ]
        out.extend({**r, **change} for change in changes)
    return out


def test_one_pair_at_a_time_scores_as_the_arrays_do():
    rows, _ = _people(300)
    variants = _variants(rows[:40])
    n = len(rows)
    rows = rows + variants
    settings = lead_settings()
    frame = settings.frame({k: [r.get(k) for r in rows] for k in rows[0]}, len(rows))
    a, b, _ = candidate_pairs(frame, settings.blocking)
    rng = np.random.default_rng(5)
    original = np.repeat(np.arange(40), len(variants) // 40)  # each variant with its row
    a = np.concatenate([a, original, rng.integers(0, len(rows), 3000)])
    b = np.concatenate([b, np.arange(n, len(rows)), rng.integers(0, len(rows), 3000)])
    pairs = Pairs(frame, a, frame, b)
    feats = [{f.name: frame[f].value(i) for f in settings.features()} for i in range(len(rows))]
    for model in (_shipped_model(), find_duplicates(rows).model):
        levels, strata = model.compare(pairs)
        one_by_one = [(feats[i], feats[j]) for i, j in zip(a.tolist(), b.tolist(), strict=True)]
        got_levels, got_strata, weight = model.score_records(one_by_one)
        assert got_levels == [tuple(x) for x in levels.tolist()]
        assert got_strata == strata.tolist()
        assert weight.tolist() == model.match_weight(pairs, levels, strata).tolist()  # exactly
        for k in range(0, len(a), 7):
            x, y = one_by_one[k]
            assert model.record_evidence(x, y, got_levels[k], got_strata[k]) == [
                dataclasses.asdict(e) for e in model.evidence(pairs, levels, strata, k)
            ]
    for k, comp in enumerate(settings.comparisons):  # every level was met
        missed = set(range(len(comp.labels))) - set(levels[:, k].tolist())
        assert missed <= {15} and NULL in levels[:, k], (comp.name, missed)  # 15 is NULL


# --- blocking, model, clustering ------------------------------------------------------------


def test_blocking_keys_are_strings_shared_by_duplicates():
    a = blocking_keys({"first_name": "Bill", "last_name": "Smith", "email": "B.Smith@Gmail.com"})
    b = blocking_keys({"first_name": "Smith", "last_name": "William", "email": "bsmith@gmail.com"})
    assert "e:bsmith@gmail.com" in a and "e:bsmith@gmail.com" in b
    assert set(k for k in a if k.startswith("n:")) == set(k for k in b if k.startswith("n:"))


def test_batch_finds_duplicates_and_keeps_colleagues_apart():
    rows, entity = _people(400)
    res = find_duplicates(rows)
    assert res.stats["candidates"] > 0
    truth = entity[res.a] == entity[res.b]
    total = int(sum(c * (c - 1) // 2 for c in np.bincount(entity)))
    assert truth.sum() == total  # blocking found every true pair
    pred = res.pair_probability >= res.model.threshold
    assert (pred & truth).sum() >= 0.9 * total
    assert (pred & ~truth).sum() <= 0.02 * total
    colleague = np.nonzero(entity >= 400)[0]
    assert (res.cluster_sizes()[colleague] == 1).mean() > 0.9
    clustered = res.cluster_sizes() > 1
    assert np.isfinite(res.probability[clustered]).all()
    assert np.isnan(res.probability[~clustered]).all()


def test_model_round_trips_and_refines_with_labels():
    rows, entity = _people(200)
    res = find_duplicates(rows)
    model = res.model
    again = MatchModel.from_dict(model.to_dict(), lead_settings())
    settings = lead_settings()
    frame = settings.frame({k: [r.get(k) for r in rows] for k in rows[0]}, len(rows))
    pairs = Pairs(frame, res.a, frame, res.b)
    levels, strata = settings.levels(pairs), settings.strata(pairs)
    np.testing.assert_allclose(
        again.match_weight(pairs, levels, strata), model.match_weight(pairs, levels, strata)
    )
    truth = entity[res.a] == entity[res.b]
    refined = model.refine(levels, strata, truth, strength=10)
    decided = model.refine_from_records([(rows[0], rows[400 // 4 * 0 + 200], True)] * 3)
    assert decided.m[0] is not model.m[0]
    assert estimate_model(rows).prior.shape == model.prior.shape
    assert refined is not model
    w_before = model.match_weight(pairs, levels, strata)
    w_after = refined.match_weight(pairs, levels, strata)
    assert w_after[truth].mean() >= w_before[truth].mean() - 1e-9


def _shipped_model() -> MatchModel:
    path = Path(__file__).resolve().parent.parent / "leadline/quality/default_model.json"
    return MatchModel.from_dict(json.loads(path.read_text()), lead_settings())


def _score(model: MatchModel, a: dict, b: dict):
    frame = model.settings.frame({k: [a.get(k), b.get(k)] for k in a}, 2)
    pairs = Pairs(frame, np.array([0]), frame, np.array([1]))
    levels, strata = model.compare(pairs)
    weight = model.match_weight(pairs, levels, strata)[0]
    return weight, model.evidence(pairs, levels, strata, 0)


def test_a_lead_who_changed_employer_is_a_kind_of_duplicate():
    model = _shipped_model()
    assert model.m_moved is not None and model.prior_moved is not None
    before = {
        "first_name": "Imogen",
        "last_name": "Fairweather",
        "email": "imogen.fairweather@brightwater.co.uk",
        "phone": "+44 20 7946 0123",
        "company": "Brightwater Logistics Ltd",
        "city": "Leeds",
        "country": "GB",
    }
    # Company, number and work address move together: one change, not three disagreements.
    after = dict(
        before,
        email="imogen.fairweather@northgate.co.uk",
        phone="+44 161 496 0456",
        company="Northgate Media",
    )
    weight, evidence = _score(model, before, after)
    one_kind = dataclasses.replace(model, m_moved=None, prior_moved=None)
    assert weight > _score(one_kind, before, after)[0] + 3
    assert evidence[0].field == "shared keys" and evidence[0].level.endswith("changed employer")


def test_components_and_average_linkage_split_a_bad_chain():
    assert components(5, np.array([0, 1, 3]), np.array([1, 2, 4])).tolist() == [0, 0, 0, 3, 3]
    # 0-1 and 1-2 are strong links, but 0 and 2 are clearly different people.
    a, b, p = np.array([0, 1]), np.array([1, 2]), np.array([0.99, 0.95])

    def score(i, j):
        return np.array(
            [
                0.999 if {x, y} == {0, 1} else 0.95 if {x, y} == {1, 2} else 0.0001
                for x, y in zip(i.tolist(), j.tolist(), strict=False)
            ]
        )

    label, prob = cluster(3, a, b, p, threshold=0.9, link_threshold=0.5, score=score)
    assert label[0] == label[1] and label[2] != label[0]
    assert np.isnan(prob[2]) and prob[0] >= 0.99


# --- capture-time index ---------------------------------------------------------------------


def test_index_lookup_returns_evidence_and_follows_adds_and_removes():
    rows, entity = _people(300)
    model = find_duplicates(rows).model
    index = MatchIndex(model, buffer=50)
    index.add_many([f"L{i}" for i in range(200)], rows[:200])
    for i in range(200, 300):
        index.add(f"L{i}", rows[i])
    assert len(index) == 300
    query = dict(rows[42], first_name="J.", email=rows[42]["email"].upper())
    found = index.lookup(query, limit=3)
    assert found[0].record_id == "L42" and found[0].probability > 0.9
    fields = {e.field for e in found[0].evidence}
    assert {"shared keys", "name", "email", "organisation", "location"} <= fields
    index.remove("L42")
    assert all(c.record_id != "L42" for c in index.lookup(query))
    direct = score_candidates(model, query, [("x", rows[42]), ("y", rows[43])])
    assert direct[0].record_id == "x"


# --- command line ---------------------------------------------------------------------------


def test_cli_reads_header_variants_and_writes_clusters(tmp_path):
    rows, entity = _people(400)
    src, out = tmp_path / "leads.csv", tmp_path / "out.csv"
    with open(src, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "Lead ID",
                "First Name",
                "Surname",
                "E-mail",
                "Telephone",
                "Organisation",
                "Town",
                "Zip",
                "Country",
            ]
        )
        for i, r in enumerate(rows):
            w.writerow(
                [
                    f"id{i}",
                    r["first_name"],
                    r["last_name"],
                    r["email"],
                    r["phone"],
                    r["company"],
                    r["city"],
                    r["postcode"],
                    r["country"],
                ]
            )
    assert canonical_header("E-mail") == "email" and canonical_header("Zip") == "postcode"
    assert main([str(src), "--out", str(out), "--threshold", "0.9", "--quiet"]) == 0
    with open(out, newline="") as fh:
        got = list(csv.DictReader(fh))
    assert len(got) == len(rows)
    assert set(got[0]) == {
        "id",
        "cluster_id",
        "cluster_size",
        "match_probability",
        "decision",
        "review_with",
    }
    by_id = {g["id"]: g for g in got}
    assert by_id["id0"]["cluster_id"] == by_id["id400"]["cluster_id"]  # id400 repeats id0
    assert float(by_id["id400"]["match_probability"]) > 0.9
