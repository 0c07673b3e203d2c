"""Derived enrichment with no outside service: seniority and department from the job title."""

import re

SENIORITY_PATTERNS = [
    (
        "c_level",
        r"\b(ceo|cto|cfo|coo|cmo|cio|cro|chief|founder|co-founder|owner|president|"
        r"managing director|partner)\b",
    ),
    ("vp", r"\b(vp|svp|evp|vice[- ]president)\b"),
    ("director", r"\b(director|head of|head)\b"),
    ("manager", r"\b(manager|lead|supervisor|principal)\b"),
    ("individual", r"\w"),
]
DEPARTMENT_PATTERNS = [
    ("sales", r"\b(sales|account executive|business development|bdr|sdr|revenue)\b"),
    ("marketing", r"\b(marketing|growth|brand|demand gen|cmo|content)\b"),
    ("engineering", r"\b(engineer|engineering|developer|cto|technical|it|software|devops)\b"),
    ("finance", r"\b(finance|cfo|controller|accounting|treasurer)\b"),
    ("operations", r"\b(operations|coo|ops|supply|logistics|procurement|purchasing|buyer)\b"),
    ("hr", r"\b(hr|human resources|people|talent|recruit\w*)\b"),
    ("executive", r"\b(ceo|founder|owner|president|managing director)\b"),
]
_SENIORITY = [(name, re.compile(p, re.I)) for name, p in SENIORITY_PATTERNS]
_DEPARTMENT = [(name, re.compile(p, re.I)) for name, p in DEPARTMENT_PATTERNS]


def seniority(title: str) -> str:
    if not title:
        return ""
    return next((name for name, rx in _SENIORITY if rx.search(title)), "")


def department(title: str) -> str:
    if not title:
        return ""
    return next((name for name, rx in _DEPARTMENT if rx.search(title)), "")
