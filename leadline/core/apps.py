from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "leadline.core"
    label = "core"
    verbose_name = "Leadline core"

    def ready(self) -> None:
        from leadline.core import checks  # noqa: F401  (registers system checks)

        _psycopg_parses_a_lead_insert_once()


# Parameters of the widest statements run for every capture: the INSERT of one lead (72
# columns), and its timeline events, blocking keys and jobs written in one statement (~60-120).
WIDEST_PER_CAPTURE = 200


def _psycopg_parses_a_lead_insert_once() -> None:
    """psycopg keeps its parse of a statement (where each %s is, in what format) in an LRU
    cache, but only for statements of at most 50 parameters: the single-lead INSERT, with 72,
    was parsed again by a regular expression at every capture (~0.4 ms of CPU, most of the
    statement's client-side cost). The limit is a module setting of psycopg's; raising it to
    200 keeps multi-row batch statements (hundreds to thousands of parameters, each run once)
    out of the cache, as psycopg intends."""
    try:
        from psycopg import _queries
    except ImportError:  # SQLite only: no psycopg installed
        return
    limit = getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", None)
    if isinstance(limit, int) and limit < WIDEST_PER_CAPTURE:
        _queries.MAX_CACHED_STATEMENT_PARAMS = WIDEST_PER_CAPTURE
