"""Synthetic lead lists with known duplicates, for the duplicate-matching benchmark.

    python bench/gen_leads.py 100000 --seed 7 --out leads.csv   # writes entity_id as well

Everything here (name lists, syllables, cities, companies) is written for Leadline; no
third-party data is used. The generator is seeded and deterministic.

**People.** Each person has a country (US 38%, GB 20%, DE 10%, FR 8%, ES 7%, IT 5%, NL 4%,
CA 4%, AU 4%), a given name and surname drawn from that country's lists with Zipf-like
weights (so "John Smith" occurs many times among different people) and, for surnames, a long
tail of generated names built from syllables, a job title, and an employer. Name weights are
1/(rank + 20): the most common given name is about 2% of people and "Smith" about 1%.

**Companies.** About 0.45 companies per person, with Zipf-like sizes (weight 1/(rank + 200):
most have one or two leads, the largest about 0.1% of the list). A company has a name written
with its country's legal form
("Brightwater Logistics, Inc.", "Keller Bau GmbH", "Rosa y Campos S.L."), an e-mail domain,
a switchboard number and a home city. Employees live in the company's city (85%), use a work
address (70%: first.last@, flast@, first@, firstl@, first_last@) or a personal free-mail
address (Gmail, Yahoo, Hotmail, GMX, Orange, Libero...), and give their own direct or mobile
number (75%) or the switchboard (25%). E-mail addresses and personal numbers are unique.

**Duplicates** (``dup_rate`` of the rows, default 5%): a record of an existing person
re-entered with 1-4 corruptions (P = 62/27/9/2%) drawn from this menu (relative weights):
typo in given name (10) or surname (10) — one keyboard slip, insertion, deletion or
transposition; given name and surname swapped (4); nickname for the given name (8, e.g.
William -> Bill, Giuseppe -> Beppe); given name reduced to an initial (5); new surname (4,
marriage); different e-mail (9: work <-> personal or another provider); typo in the e-mail
(4); Gmail dots moved or a +tag added (5); free-mail domain typo (2, gmial.com); phone typo
(5: one digit or two swapped); different phone (6); company legal-form / punctuation / "&"
variant (10); a new employer (6: new company, work address and number, city kept 60%);
missing e-mail (5), phone (5), company (3) or city (3); city typo (2). Independently of the
menu, the phone is written in a randomly chosen local format each time (+44 20..., 020...,
0044..., +44 (0)20..., digits only), names change case (15%) and the job title changes (25%).
A nickname drawn for a given name without a common nickname becomes a typo instead. 10% of
duplicated people get two duplicates.

**Colleagues** (``colleague_rate``, default 1%): a new person at the same company as an
existing record, with that record's phone number (the switchboard), city, postcode and
e-mail domain, but their own name and mailbox (30% write the company name differently): a
different person who must not be merged.

``generate`` returns the columns (lists of strings, "" for missing) and the entity id of each
row; rows of the same entity are the true duplicates.
"""

from __future__ import annotations

import argparse
import csv
import random
import string
import sys
from bisect import bisect
from itertools import accumulate

FIELDS = (
    "lead_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "city",
    "postcode",
    "country",
)

# fmt: off
FIRST = {
    "en": ("James John Robert Michael William David Richard Joseph Thomas Charles Christopher "
           "Daniel Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian "
           "George Timothy Ronald Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan "
           "Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander Patrick Frank "
           "Raymond Jack Dennis Jerry Tyler Aaron Henry Peter Oliver Harry Liam Noah "
           "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy "
           "Betty Margaret Sandra Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy "
           "Melissa Deborah Stephanie Rebecca Sharon Laura Cynthia Kathleen Amy Angela Shirley "
           "Anna Brenda Pamela Emma Nicole Helen Samantha Katherine Christine Debra Rachel "
           "Carolyn Janet Catherine Maria Heather Diane Ruth Julie Olivia Joyce Victoria Kelly "
           "Christina Lauren Joan Evelyn Judith Megan Andrea Cheryl Hannah Jacqueline Martha "
           "Gloria Teresa Sophie Chloe Grace Amelia Isla Zoe"),
    "de": ("Thomas Michael Andreas Stefan Christian Peter Markus Klaus Wolfgang Jürgen Frank "
           "Uwe Matthias Alexander Martin Sebastian Jan Tobias Florian Lukas Jonas Felix "
           "Maximilian "
           "Johannes Hans Dieter Günter Heinz Josef Friedrich Karl Bernd Ralf Sven Dirk Jörg "
           "Sabine Petra Monika Claudia Susanne Andrea Birgit Stefanie Nicole Julia Anna Laura "
           "Lena Katharina Sophie Marie Lea Hannah Ursula Renate Karin Brigitte Gabriele Christina "
           "Sandra Kerstin Anja Melanie Silke Tanja Jana Elisabeth Margarete Franziska"),
    "fr": ("Jean Pierre Michel Philippe Alain Nicolas Christophe Patrick Christian Daniel "
           "Frédéric Laurent Stéphane David Julien Sébastien Olivier Thomas Antoine Mathieu "
           "Guillaume François Louis Hugo Lucas Théo Maxime Alexandre Vincent Éric "
           "Marie Nathalie Isabelle Sylvie Catherine Françoise Valérie Christine Sandrine "
           "Sophie Céline Stéphanie Julie Camille Léa Manon Chloé Émilie Aurélie Caroline Claire "
           "Anne Hélène Élodie Virginie Mathilde Juliette Margaux Inès Lucie"),
    "es": ("José Antonio Manuel Francisco Juan David Javier Daniel Carlos Jesús Alejandro "
           "Miguel Rafael Pedro Pablo Ángel Sergio Fernando Jorge Luis Alberto Álvaro Diego "
           "Adrián Raúl Enrique Ramón Vicente Andrés Joaquín "
           "María Carmen Ana Isabel Laura Cristina Marta Lucía Dolores Pilar Elena Sara Paula "
           "Raquel Rosa Teresa Beatriz Silvia Patricia Mercedes Julia Irene Andrea Natalia "
           "Alicia Nuria Sofía Rocío Montserrat Inmaculada"),
    "it": ("Giuseppe Giovanni Antonio Mario Luigi Francesco Angelo Vincenzo Pietro Salvatore "
           "Carlo Franco Domenico Bruno Paolo Michele Giorgio Marco Andrea Stefano Alessandro "
           "Luca Matteo Lorenzo Davide Simone Federico Riccardo Roberto Massimo "
           "Maria Anna Giuseppina Rosa Angela Giovanna Teresa Lucia Carmela Caterina Francesca "
           "Giulia Chiara Sara Martina Valentina Alessia Federica Elena Silvia Laura Paola "
           "Roberta Simona Monica Elisa Alessandra Beatrice Sofia Aurora"),
    "nl": ("Jan Johannes Cornelis Hendrik Willem Pieter Gerrit Jacobus Dirk Thomas Daan Sem "
           "Lucas Bram Ruben Sander Bas Jeroen Maarten Niels Tim Joost Kees Wouter Stijn "
           "Maria Anna Johanna Cornelia Elisabeth Emma Julia Sophie Lotte Anouk Sanne Lisa "
           "Eva Femke Iris Lieke Marieke Esther Ingrid Annemieke Marloes Ilse Noor Fleur"),
}
LAST = {
    "en": ("Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore "
           "Martin Jackson Thompson White Harris Clark Lewis Robinson Walker Young Allen King "
           "Wright Scott Hill Green Adams Baker Nelson Carter Mitchell Roberts Turner Phillips "
           "Campbell Parker Evans Edwards Collins Stewart Morris Murphy Cook Rogers Morgan Cooper "
           "Peterson Bailey Reed Kelly Howard Cox Ward Richardson Watson Brooks Wood James Bennett "
           "Gray Hughes Price Sanders Myers Long Ross Foster Powell Jenkins Perry Russell Sullivan "
           "Bell Coleman Butler Henderson Barnes Fisher Patel Khan Ali Singh O'Brien O'Connor "
           "McDonald MacLeod Fitzgerald Armstrong Knight Lawrence Shaw Hunt Holmes Palmer "
           "Marshall"),
    "de": ("Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer "
           "Koch Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger "
           "Hofmann Hartmann Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze "
           "Maier Köhler Herrmann König Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller "
           "Weiß Jung Hahn Schubert Vogel Friedrich Keller Günther Frank Berger Winkler Roth "
           "Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm Winter Kraus Martin"),
    "fr": ("Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon "
           "Michel Lefebvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert "
           "Fontaine Rousseau Vincent Muller Lefèvre Faure André Mercier Blanc Guérin Boyer "
           "Garnier Chevalier François Legrand Gauthier Garcia Perrin Robin Clément Morin Nicolas "
           "Henry Roussel Mathieu Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noël "
           "Meyer Dufour Meunier Brun Blanchard Giraud Joly Rivière Lucas Brunet Gaillard"),
    "es": ("García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín "
           "Jiménez Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro "
           "Torres Domínguez Vázquez Ramos Gil Ramírez Serrano Blanco Molina Morales Suárez "
           "Ortega Delgado Castro Ortiz Rubio Marín Sanz Núñez Iglesias Medina Garrido Cortés "
           "Castillo Santos Lozano Guerrero Cano Prieto Méndez Cruz Calvo Gallego Vidal León "
           "Márquez Herrera Peña Flores Cabrera Campos Vega Fuentes Carrasco Diez Caballero"),
    "it": ("Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno "
           "Gallo Conti De Luca Mancini Costa Giordano Rizzo Lombardi Moretti Barbieri Fontana "
           "Santoro Mariani Rinaldi Caruso Ferrara Galli Martini Leone Longo Gentile Martinelli "
           "Vitale Lombardo Serra Coppola De Santis D'Angelo Marchetti Parisi Villa Conte Ferraro "
           "Ferri Fabbri Bianco Marini Grasso Valentini Messina Sala De Angelis Gatti Pellegrini"),
    "nl": ("de Jong Jansen de Vries van den Berg van Dijk Bakker Janssen Visser Smit Meijer "
           "de Boer Mulder de Groot Bos Vos Peters Hendriks van Leeuwen Dekker Brouwer de Wit "
           "Dijkstra Smits de Graaf van der Meer van der Linden Kok Jacobs de Haan Vermeulen "
           "van den Heuvel van der Veen van den Broek de Bruijn de Bruin van der Heijden Schouten "
           "van Beek Willems van Vliet van de Ven Hoekstra Maas Verhoeven Koster van Dam Prins"),
}
SYLLABLES = ("bar bel ber bran bro cal car cas del dor fal fen gal gar hal har hel ken kel "
             "lan lar lin mar mel mor nor nel pal per ran ren ros sal sel tal ter tor val ven "
             "wal wel wil bra dre fra gre kro pre sta ste tra vin zan").split()
ENDINGS = {
    "en": "son ley ton ford wood field well by worth more ham ridge croft",
    "de": "mann berg er hof bach feld stein ger ler inger",
    "fr": "eau ier ard ot in et on ais",
    "es": "ez ero ado ano illo ares edo",
    "it": "ini etti one ello ari ucci ardi",
    "nl": "sma stra ink ens ers huis",
}
COUNTRIES = {  # code: (weight, language, phone country code, national trunk prefix, cities)
    "US": (38, "en", "1", "", "New York,Los Angeles,Chicago,Houston,Phoenix,Philadelphia,"
           "San Antonio,San Diego,Dallas,Austin,San Francisco,Seattle,Denver,Boston,Atlanta,"
           "Miami,Portland,Nashville,Detroit,Minneapolis,Raleigh,Salt Lake City,Columbus,Tampa"),
    "GB": (20, "en", "44", "0", "London,Manchester,Birmingham,Leeds,Glasgow,Liverpool,Bristol,"
           "Edinburgh,Sheffield,Cardiff,Belfast,Nottingham,Leicester,Newcastle,Brighton,Oxford,"
           "Cambridge,Reading"),
    "DE": (10, "de", "49", "0", "Berlin,Hamburg,München,Köln,Frankfurt am Main,Stuttgart,"
           "Düsseldorf,Leipzig,Dortmund,Essen,Bremen,Dresden,Hannover,Nürnberg"),
    "FR": (8, "fr", "33", "0", "Paris,Marseille,Lyon,Toulouse,Nice,Nantes,Strasbourg,"
           "Montpellier,Bordeaux,Lille,Rennes,Grenoble"),
    "ES": (7, "es", "34", "", "Madrid,Barcelona,Valencia,Sevilla,Zaragoza,Málaga,Bilbao,"
           "Alicante,Córdoba,Valladolid,Palma"),
    "IT": (5, "it", "39", "", "Roma,Milano,Napoli,Torino,Palermo,Genova,Bologna,Firenze,Bari,"
           "Verona"),
    "NL": (4, "nl", "31", "0", "Amsterdam,Rotterdam,Den Haag,Utrecht,Eindhoven,Groningen,"
           "Tilburg,Almere"),
    "CA": (4, "en", "1", "", "Toronto,Montreal,Vancouver,Calgary,Ottawa,Edmonton,Winnipeg"),
    "AU": (4, "en", "61", "0", "Sydney,Melbourne,Brisbane,Perth,Adelaide,Canberra,Hobart"),
}
LEGAL = {
    "US": ("Inc.", "Inc", "LLC", "Corp.", "Corporation", ""),
    "CA": ("Inc.", "Ltd.", "Corp.", ""),
    "GB": ("Ltd", "Ltd.", "Limited", "PLC", ""),
    "AU": ("Pty Ltd", "Pty. Ltd.", "Ltd", ""),
    "DE": ("GmbH", "AG", "GmbH & Co. KG", "UG", ""),
    "FR": ("SARL", "SAS", "S.A.", ""),
    "ES": ("S.L.", "S.A.", "SL", ""),
    "IT": ("S.r.l.", "S.p.A.", "Srl", ""),
    "NL": ("B.V.", "BV", "N.V.", ""),
}
LEGAL_VARIANTS = {
    "Inc.": ("Inc", "Incorporated", ", Inc.", ""), "Inc": ("Inc.", "Incorporated", ""),
    "LLC": ("L.L.C.", "llc", ""), "Corp.": ("Corp", "Corporation", ""),
    "Corporation": ("Corp.", "Corp", ""), "Ltd": ("Ltd.", "Limited", ""),
    "Ltd.": ("Ltd", "Limited", ""), "Limited": ("Ltd", "Ltd.", ""), "PLC": ("plc", "P.L.C.", ""),
    "Pty Ltd": ("Pty. Ltd.", "Pty Limited", ""), "Pty. Ltd.": ("Pty Ltd", ""),
    "GmbH": ("Gmbh", "G.m.b.H.", ""), "AG": ("A.G.", ""), "GmbH & Co. KG": ("GmbH & Co KG", ""),
    "UG": ("UG (haftungsbeschränkt)", ""), "SARL": ("S.A.R.L.", "Sarl", ""),
    "SAS": ("S.A.S.", ""), "S.A.": ("SA", ""), "S.L.": ("SL", "S.L", ""), "SL": ("S.L.", ""),
    "S.r.l.": ("Srl", "SRL", ""), "S.p.A.": ("SpA", "SPA", ""), "Srl": ("S.r.l.", ""),
    "B.V.": ("BV", ""), "BV": ("B.V.", ""), "N.V.": ("NV", ""), "": ("Inc.", "Ltd"),
}
WORDS = ("Bright Blue North Summit Cedar River Stone Iron Silver Golden Harbor Pioneer Apex "
         "Vertex Nova Atlas Orion Falcon Eagle Maple Oak Pine Crest Peak Horizon Prime Clear "
         "Swift Bold True Core Next Open Urban Green Red Alpha Delta Omega Quantum Vector "
         "Lumen Terra Aqua Sol Astra Nimbus Helix Vista Beacon Anchor Bridge Compass Forge").split()
TRADES = ("Logistics Software Systems Solutions Analytics Consulting Partners Labs Media "
          "Health Foods Energy Capital Robotics Networks Design Studio Retail Supply Bau "
          "Technik Industries Group Holdings Dynamics Works Ventures Digital Marketing Insurance "
          "Construction Engineering Pharma Textiles Motors Security Cloud Data Finance").split()
TITLES = ("CEO,CTO,CFO,COO,Founder,Co-founder,VP Sales,VP Marketing,Head of Operations,"
          "Marketing Manager,Sales Manager,Account Executive,Procurement Manager,IT Director,"
          "Operations Manager,Product Manager,Software Engineer,Office Manager,HR Manager,"
          "Buyer,Purchasing Lead,Finance Director,Business Analyst,Owner,Managing Director,"
          "Director of Engineering,Growth Lead,Customer Success Manager").split(",")
FREEMAIL = {
    "en": ("gmail.com", 50, "yahoo.com", 15, "hotmail.com", 12, "outlook.com", 12, "icloud.com", 6,
           "aol.com", 5),
    "de": ("gmail.com", 35, "gmx.de", 25, "web.de", 25, "t-online.de", 10, "outlook.com", 5),
    "fr": ("gmail.com", 45, "orange.fr", 20, "free.fr", 15, "hotmail.fr", 15, "yahoo.fr", 5),
    "es": ("gmail.com", 60, "hotmail.es", 25, "yahoo.es", 10, "outlook.com", 5),
    "it": ("gmail.com", 55, "libero.it", 25, "hotmail.com", 10, "yahoo.com", 10),
    "nl": ("gmail.com", 60, "hotmail.com", 20, "outlook.com", 20),
}
DOMAIN_TYPOS = {"gmail.com": ("gmial.com", "gmai.com", "gmail.co", "gmaill.com", "gamil.com"),
                "yahoo.com": ("yaho.com", "yahooo.com", "yahoo.co"),
                "hotmail.com": ("hotmial.com", "hotmai.com", "hotmail.co"),
                "outlook.com": ("outlok.com", "outlook.co"), "icloud.com": ("iclod.com",),
                "gmx.de": ("gmx.d",), "web.de": ("wev.de",)}
KEYBOARD = {c: n for c, n in zip(
    "qwertyuiopasdfghjklzxcvbnm",
    ["wa", "qes", "wrd", "etf", "ryg", "tuh", "yij", "uok", "ipl", "o", "qsz", "awdx", "sefc",
     "drgv", "fthb", "gyjn", "hukm", "jil", "ko", "asx", "zsdc", "xdfv", "cfgb", "vghn", "bhjm",
     "njk"], strict=False)}
NICKS = {
    "William": ("Bill", "Will", "Billy", "Liam"), "Robert": ("Bob", "Rob", "Bobby"),
    "Richard": ("Rick", "Dick", "Rich"), "James": ("Jim", "Jimmy", "Jamie"),
    "John": ("Jack", "Johnny"), "Michael": ("Mike", "Mick"), "Thomas": ("Tom", "Tommy"),
    "Joseph": ("Joe", "Joey"), "Charles": ("Charlie", "Chuck"), "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"), "Matthew": ("Matt",), "Anthony": ("Tony",),
    "Steven": ("Steve",), "Stephen": ("Steve",), "Andrew": ("Andy", "Drew"),
    "Joshua": ("Josh",), "Kenneth": ("Ken", "Kenny"), "Edward": ("Ed", "Eddie", "Ted"),
    "Nicholas": ("Nick",), "Jonathan": ("Jon",), "Benjamin": ("Ben",), "Samuel": ("Sam",),
    "Gregory": ("Greg",), "Alexander": ("Alex",), "Patrick": ("Pat",), "Timothy": ("Tim",),
    "Elizabeth": ("Liz", "Beth", "Betty", "Lizzie"), "Margaret": ("Maggie", "Peggy", "Meg"),
    "Jennifer": ("Jen", "Jenny"), "Katherine": ("Kate", "Katie", "Kathy"),
    "Catherine": ("Cathy", "Kate"), "Rebecca": ("Becky",), "Samantha": ("Sam",),
    "Deborah": ("Debbie", "Deb"), "Patricia": ("Pat", "Trish"), "Victoria": ("Vicky",),
    "Jacqueline": ("Jackie",), "Susan": ("Sue",), "Dorothy": ("Dot",), "Amanda": ("Mandy",),
    "Christina": ("Chris", "Tina"), "Christine": ("Chris",), "Pamela": ("Pam",),
    "Francisco": ("Paco",), "José": ("Pepe",), "Giuseppe": ("Beppe",), "Dolores": ("Lola",),
    "Josef": ("Sepp",), "Johannes": ("Hans",), "Friedrich": ("Fritz",), "Alejandro": ("Alex",),
    "Maximilian": ("Max",), "Alessandro": ("Alex",), "Francesca": ("Fran",),
}
# fmt: on


class _Weighted:
    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = list(accumulate(weights))

    def pick(self, rng: random.Random):
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


def _zipf(items, offset=20):
    """Zipf-like weights 1/(rank + offset): a flatter head than pure Zipf, like real names."""
    return _Weighted(items, [1.0 / (i + offset) for i in range(len(items))])


class _World:
    def __init__(self, rng: random.Random, n_people: int):
        self.rng = rng
        self.countries = _Weighted(COUNTRIES, [c[0] for c in COUNTRIES.values()])
        self.first = {lang: _zipf(v.split()) for lang, v in FIRST.items()}
        self.common_last = {lang: _zipf(_split_last(v)) for lang, v in LAST.items()}
        self.cities = {cc: _zipf(c[4].split(","), 2) for cc, c in COUNTRIES.items()}
        self.titles = _zipf(TITLES, 5)
        self.freemail = {lang: _Weighted(v[::2], v[1::2]) for lang, v in FREEMAIL.items()}
        self.used_emails: set[str] = set()
        self.used_phones: set[str] = set()
        # Generated surnames: a long tail, each shared by a handful of people.
        self.rare_last = {lang: [] for lang in LAST}
        for lang in LAST:
            seen = set()
            for _ in range(max(200, n_people // 12)):
                seen.add(self._make_surname(lang))
            self.rare_last[lang] = sorted(seen)
        self.companies: list[dict] = []
        n_companies = max(10, int(n_people * 0.45))
        for _ in range(n_companies):
            self.companies.append(self._make_company())
        # Zipf-like with an offset: most companies have one or two leads, the largest a few
        # hundred (0.1% of a 100k list), never half the list.
        self.company_pick = _Weighted(
            range(n_companies), [1.0 / (i + 200) for i in range(n_companies)]
        )

    def _make_surname(self, lang):
        rng = self.rng
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((1, 2, 2))))
        word += rng.choice(ENDINGS[lang].split())
        word = word.capitalize()
        if lang == "nl" and rng.random() < 0.3:
            word = "van " + word
        return word

    def surname(self, lang):
        rng = self.rng
        if rng.random() < 0.45:
            return self.common_last[lang].pick(rng)
        return rng.choice(self.rare_last[lang])

    def _make_company(self):
        rng = self.rng
        cc = self.countries.pick(rng)
        lang = COUNTRIES[cc][1]
        style = rng.random()
        if style < 0.35:
            base = f"{rng.choice(WORDS)} {rng.choice(TRADES)}"
        elif style < 0.55:
            base = f"{self.surname(lang)} {rng.choice(TRADES)}"
        elif style < 0.7:
            base = f"{self.surname(lang)} & {self.surname(lang)}"
        elif style < 0.85:
            base = f"{rng.choice(WORDS)}{rng.choice(WORDS).lower()}"
        else:
            base = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(TRADES)}"
        legal = rng.choice(LEGAL[cc])
        domain_base = "".join(ch for ch in _ascii(base).lower() if ch.isalnum())
        tld = {"US": "com", "CA": "ca", "GB": "co.uk", "AU": "com.au"}.get(cc, cc.lower())
        domain = f"{domain_base}{rng.randint(2, 99) if rng.random() < 0.3 else ''}.{tld}"
        city = self.cities[cc].pick(rng)
        return {
            "base": base,
            "legal": legal,
            "sep": ", " if rng.random() < 0.3 else " ",
            "cc": cc,
            "domain": domain,
            "city": city,
            "postcode": _postcode(rng, cc, city),
            "switchboard": self.new_phone(cc),
        }

    def new_phone(self, cc) -> str:
        """A unique national significant number for the country (digits only)."""
        rng = self.rng
        while True:
            if cc in ("US", "CA"):
                nsn = f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
            elif cc == "GB":
                nsn = rng.choice(("20", "161", "121", "113", "7")) + "".join(
                    rng.choices(string.digits, k=8)
                )
                nsn = nsn[:10]
            elif cc == "DE":
                nsn = rng.choice(("30", "40", "89", "221", "69", "15", "17")) + "".join(
                    rng.choices(string.digits, k=8)
                )
            elif cc in ("FR",):
                nsn = rng.choice("1234567") + "".join(rng.choices(string.digits, k=8))
            elif cc == "AU":
                nsn = rng.choice("2378") + "".join(rng.choices(string.digits, k=8))
            elif cc == "NL":
                nsn = rng.choice(("20", "10", "6")) + "".join(rng.choices(string.digits, k=7))
                nsn = nsn[:9]
            else:  # ES, IT: no trunk prefix
                nsn = rng.choice("69" if cc == "ES" else "03") + "".join(
                    rng.choices(string.digits, k=8)
                )
            if nsn not in self.used_phones:
                self.used_phones.add(nsn)
                return nsn

    def unique_email(self, local: str, domain: str) -> str:
        """A mailbox nobody has yet (Gmail ignores dots, so j.smith and jsmith are one)."""
        address = f"{local}@{domain}"
        k = 1
        while _mailbox(address) in self.used_emails:
            k += 1
            address = f"{local}{k if k > 2 else self.rng.randint(1, 99)}@{domain}"
        self.used_emails.add(_mailbox(address))
        return address


def _mailbox(address: str) -> str:
    local, _, domain = address.lower().partition("@")
    return f"{local.replace('.', '')}@{domain}" if domain == "gmail.com" else f"{local}@{domain}"


def _split_last(text: str) -> list[str]:
    out, words = [], text.split()
    i = 0
    while i < len(words):
        w = words[i]
        if w in ("de", "van", "der", "den", "De") and i + 1 < len(words):
            j = i + 1
            while words[j] in ("der", "den", "de"):
                j += 1
            out.append(" ".join(words[i : j + 1]))
            i = j + 1
        else:
            out.append(w)
            i += 1
    return out


def _ascii(text: str) -> str:
    import unicodedata

    text = text.replace("ß", "ss")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _postcode(rng: random.Random, cc: str, city: str) -> str:
    h = sum(map(ord, city))
    if cc in ("US", "DE", "FR", "ES", "IT"):
        return f"{(h * 97) % 90000 + 10000 + rng.randint(0, 40):05d}"
    if cc == "GB":
        inward = f"{rng.randint(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTUWXYZ')}"
        return f"{city[:2].upper()}{rng.randint(1, 20)} {inward}"
    if cc == "NL":
        letters = f"{rng.choice('ABCDEFGH')}{rng.choice('KLMNPRST')}"
        return f"{(h * 31) % 9000 + 1000 + rng.randint(0, 20)} {letters}"
    if cc == "CA":
        first = f"{city[0].upper()}{rng.randint(1, 9)}{rng.choice('ABCEGHJ')}"
        return f"{first} {rng.randint(1, 9)}{rng.choice('KLMNPRST')}{rng.randint(1, 9)}"
    return f"{(h * 13) % 9000 + 1000}"


def format_phone(rng: random.Random, cc: str, nsn: str) -> str:
    code, trunk = COUNTRIES[cc][2], COUNTRIES[cc][3]
    if cc in ("US", "CA"):
        a, b, c = nsn[:3], nsn[3:6], nsn[6:]
        return rng.choice(
            (
                f"+1 ({a}) {b}-{c}",
                f"{a}-{b}-{c}",
                f"({a}) {b} {c}",
                f"+1{nsn}",
                f"{a}.{b}.{c}",
                f"1-{a}-{b}-{c}",
                nsn,
            )
        )
    head, tail = nsn[:-7] if len(nsn) > 7 else nsn[:2], nsn[-7:]
    spaced = f"{tail[:3]} {tail[3:]}"
    return rng.choice(
        (
            f"+{code} {head} {spaced}",
            f"{trunk}{head} {spaced}",
            f"00{code} {head} {spaced}",
            f"+{code}{nsn}",
            f"+{code} ({trunk}){head} {spaced}" if trunk else f"+{code} {head}{tail}",
            f"{trunk}{head}/{tail}",
            f"{trunk}{nsn}",
        )
    )


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word + rng.choice("aeiou")
    i = rng.randrange(1, len(word))  # people rarely get the first letter wrong
    kind = rng.random()
    ch = word[i].lower()
    if kind < 0.35 and ch in KEYBOARD:
        return word[:i] + rng.choice(KEYBOARD[ch]) + word[i + 1 :]
    if kind < 0.55:
        return word[:i] + word[i + 1 :]
    if kind < 0.75:
        return word[:i] + word[i] + word[i:]
    if i < len(word) - 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1 :]


def _local(rng: random.Random, first: str, last: str, work: bool) -> str:
    f, l = _slug(first), _slug(last)  # noqa: E741
    r = rng.random()
    if work:
        if r < 0.5:
            return f"{f}.{l}"
        if r < 0.7:
            return f"{f[:1]}{l}"
        if r < 0.8:
            return f
        if r < 0.9:
            return f"{f}{l[:1]}"
        return f"{f}_{l}"
    if r < 0.35:
        return f"{f}.{l}"
    if r < 0.55:
        return f"{f}{l}"
    if r < 0.75:
        return f"{f}.{l}{rng.randint(60, 99)}"
    if r < 0.9:
        return f"{f[:1]}{l}{rng.randint(1, 999)}"
    return f"{l}.{f}"


def _slug(text: str) -> str:
    return "".join(ch for ch in _ascii(text).lower() if ch.isalnum())


class _Person:
    __slots__ = (
        "entity",
        "cc",
        "lang",
        "first",
        "last",
        "company",
        "email",
        "phone_nsn",
        "phone_cc",
        "title",
        "city",
        "postcode",
        "work_email",
    )


def _new_person(world: _World, entity: int, company: dict | None = None) -> _Person:
    rng = world.rng
    p = _Person()
    p.entity = entity
    co = company or world.companies[world.company_pick.pick(rng)]
    p.company = co
    p.cc = co["cc"] if rng.random() < 0.9 else world.countries.pick(rng)
    p.lang = COUNTRIES[p.cc][1]
    p.first = world.first[p.lang].pick(rng)
    p.last = world.surname(p.lang)
    p.title = world.titles.pick(rng)
    if rng.random() < 0.85 and p.cc == co["cc"]:
        p.city, p.postcode = co["city"], co["postcode"]
    else:
        p.city = world.cities[p.cc].pick(rng)
        p.postcode = _postcode(rng, p.cc, p.city)
    p.work_email = rng.random() < 0.7
    domain = co["domain"] if p.work_email else world.freemail[p.lang].pick(rng)
    p.email = world.unique_email(_local(rng, p.first, p.last, p.work_email), domain)
    if rng.random() < 0.25:
        p.phone_nsn, p.phone_cc = co["switchboard"], co["cc"]
    else:
        p.phone_nsn, p.phone_cc = world.new_phone(p.cc), p.cc
    return p


def _company_name(rng: random.Random, co: dict, variant: bool = False) -> str:
    """The company as its people usually write it, or (``variant``) as someone else might."""
    legal, base, sep = co["legal"], co["base"], co["sep"]
    if variant:
        r = rng.random()
        if r < 0.5:
            legal = rng.choice(LEGAL_VARIANTS.get(legal, ("",)))
        elif r < 0.65:
            sep = " " if sep == ", " else ", "
        elif r < 0.8 and "&" in base:
            base = base.replace("&", "and")
        elif r < 0.9:
            base = base.upper()
        else:
            base = base.replace(" ", "-", 1) if " " in base else base + "."
    if not legal:
        return base
    return f"{base}{'' if legal.startswith(',') else sep}{legal}"


def _row(rng: random.Random, p: _Person, lead_id: str, fmt_phone=True) -> dict:
    return {
        "lead_id": lead_id,
        "first_name": p.first,
        "last_name": p.last,
        "email": p.email,
        "phone": format_phone(rng, p.phone_cc, p.phone_nsn) if p.phone_nsn else "",
        "company": _company_name(rng, p.company) if p.company else "",
        "job_title": p.title,
        "city": p.city,
        "postcode": p.postcode,
        "country": p.cc,
    }


_MENU = (
    ("first_typo", 10),
    ("last_typo", 10),
    ("swap", 4),
    ("nickname", 8),
    ("initial", 5),
    ("new_surname", 4),
    ("other_email", 9),
    ("email_typo", 4),
    ("gmail_variant", 5),
    ("domain_typo", 2),
    ("phone_typo", 5),
    ("other_phone", 6),
    ("company_variant", 10),
    ("new_employer", 6),
    ("no_email", 5),
    ("no_phone", 5),
    ("no_company", 3),
    ("no_city", 3),
    ("city_typo", 2),
)


def _duplicate(world: _World, p: _Person, lead_id: str) -> tuple[dict, str]:
    """A corrupted copy of ``p``'s record and its label (``duplicate:`` + the corruptions)."""
    rng = world.rng
    menu = _Weighted([m for m, _ in _MENU], [w for _, w in _MENU])
    k = _Weighted((1, 2, 3, 4), (62, 27, 9, 2)).pick(rng)
    kinds = set()
    while len(kinds) < k:
        kinds.add(menu.pick(rng))
    first, last, email = p.first, p.last, p.email
    company, co = None, p.company
    phone_cc, nsn = p.phone_cc, p.phone_nsn
    city, postcode, title = p.city, p.postcode, p.title
    if "new_employer" in kinds:
        co = world.companies[world.company_pick.pick(rng)]
        if p.work_email or rng.random() < 0.3:
            email = world.unique_email(_local(rng, first, last, True), co["domain"])
        phone_cc, nsn = (
            (co["cc"], co["switchboard"])
            if rng.random() < 0.3
            else (co["cc"], world.new_phone(co["cc"]))
        )
        if rng.random() > 0.6:
            city, postcode = co["city"], co["postcode"]
        title = world.titles.pick(rng)
    if "first_typo" in kinds:
        first = _typo(rng, first)
    if "last_typo" in kinds:
        last = _typo(rng, last)
    if "nickname" in kinds and p.first in NICKS:
        first = rng.choice(NICKS[p.first])
    elif "nickname" in kinds:
        first = _typo(rng, first)
    if "initial" in kinds:
        first = first[0] + rng.choice((".", "", "."))
    if "new_surname" in kinds:
        last = world.surname(p.lang)
    if "swap" in kinds:
        first, last = last, first
    if "other_email" in kinds:
        if p.work_email:
            email = world.unique_email(
                _local(rng, p.first, p.last, False), world.freemail[p.lang].pick(rng)
            )
        else:
            email = world.unique_email(
                _local(rng, p.first, p.last, rng.random() < 0.5),
                co["domain"] if rng.random() < 0.5 else world.freemail[p.lang].pick(rng),
            )
    if "email_typo" in kinds and email:
        local, _, domain = email.partition("@")
        email = f"{_typo(rng, local)}@{domain}"
    if "gmail_variant" in kinds and email:
        local, _, domain = email.partition("@")
        if domain == "gmail.com" and rng.random() < 0.6:
            plain = local.replace(".", "")
            cut = rng.randrange(1, len(plain)) if len(plain) > 1 else 1
            local = plain[:cut] + "." + plain[cut:]
        else:
            local = f"{local}+{rng.choice(('news', 'leads', 'work', 'promo', 'webinar'))}"
        email = f"{local}@{domain}"
    if "domain_typo" in kinds and email:
        local, _, domain = email.partition("@")
        if domain in DOMAIN_TYPOS:
            domain = rng.choice(DOMAIN_TYPOS[domain])
        else:
            domain = _typo(rng, domain.split(".")[0]) + "." + domain.split(".", 1)[1]
        email = f"{local}@{domain}"
    if "phone_typo" in kinds and nsn:
        digits = list(nsn)
        i = rng.randrange(1, len(digits) - 1)
        if rng.random() < 0.5:
            digits[i] = rng.choice([d for d in string.digits if d != digits[i]])
        else:
            digits[i], digits[i + 1] = digits[i + 1], digits[i]
        nsn = "".join(digits)
    if "other_phone" in kinds:
        phone_cc, nsn = p.cc, world.new_phone(p.cc)
    if "city_typo" in kinds and city:
        city = _typo(rng, city)
    company = _company_name(rng, co, variant="company_variant" in kinds)
    if rng.random() < 0.15:
        first, last = (
            (first.upper(), last.upper()) if rng.random() < 0.5 else (first.lower(), last.lower())
        )
    if rng.random() < 0.25:
        title = world.titles.pick(rng)
    phone = format_phone(rng, phone_cc, nsn) if nsn else ""
    row = {
        "lead_id": lead_id,
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone": phone,
        "company": company,
        "job_title": title,
        "city": city,
        "postcode": postcode,
        "country": p.cc,
    }
    for kind, fld in (("no_email", "email"), ("no_phone", "phone"), ("no_company", "company")):
        if kind in kinds:
            row[fld] = ""
    if "no_city" in kinds:
        row["city"] = row["postcode"] = ""
    return row, "duplicate:" + ",".join(sorted(kinds))


def generate(n: int, dup_rate: float = 0.05, colleague_rate: float = 0.01, seed: int = 7):
    """``n`` rows: (columns as dict of lists, entity id per row, kind per row).

    A row's kind is ``original``, ``colleague`` or ``duplicate:`` followed by the corruptions
    drawn for it from ``_MENU`` (comma-separated), for breaking errors down by cause.
    """
    rng = random.Random(seed)
    n_dup = int(n * dup_rate)
    n_coll = int(n * colleague_rate)
    n_base = n - n_dup - n_coll
    world = _World(rng, n_base)
    people = [_new_person(world, i) for i in range(n_base)]
    rows = [_row(rng, p, "") for p in people]
    entity = list(range(n_base))
    kind = ["original"] * n_base
    for i in range(n_coll):
        src_row = rng.randrange(n_base)
        src = people[src_row]
        mate = _new_person(world, n_base + i, company=src.company)
        mate.cc = src.cc
        mate.phone_nsn, mate.phone_cc = src.phone_nsn, src.phone_cc
        mate.city, mate.postcode = src.city, src.postcode
        domain = src.email.partition("@")[2]
        mate.email = world.unique_email(_local(rng, mate.first, mate.last, True), domain)
        row = _row(rng, mate, "")
        row["company"] = _company_name(rng, mate.company, variant=rng.random() < 0.3)
        rows.append(row)
        entity.append(n_base + i)
        kind.append("colleague")
    made = 0
    while made < n_dup:
        src = people[rng.randrange(n_base)]
        copies = 2 if rng.random() < 0.1 and made + 2 <= n_dup else 1
        for _ in range(copies):
            row, label = _duplicate(world, src, "")
            rows.append(row)
            entity.append(src.entity)
            kind.append(label)
            made += 1
    order = list(range(len(rows)))
    rng.shuffle(order)
    cols = {f: [] for f in FIELDS}
    ents, kinds = [], []
    for new_id, i in enumerate(order):
        rows[i]["lead_id"] = f"L{new_id + 1:07d}"
        for f in FIELDS:
            cols[f].append(rows[i][f])
        ents.append(entity[i])
        kinds.append(kind[i])
    return cols, ents, kinds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dup-rate", type=float, default=0.05)
    parser.add_argument("--colleague-rate", type=float, default=0.01)
    parser.add_argument("--out", default="-")
    args = parser.parse_args(argv)
    cols, ents, _ = generate(args.n, args.dup_rate, args.colleague_rate, args.seed)
    fh = sys.stdout if args.out == "-" else open(args.out, "w", newline="", encoding="utf-8")
    out = csv.writer(fh)
    out.writerow([*FIELDS, "entity_id"])
    for i in range(len(ents)):
        out.writerow([*(cols[f][i] for f in FIELDS), ents[i]])
    if fh is not sys.stdout:
        fh.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
