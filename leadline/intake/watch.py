"""A change token for the configuration every capture applies.

The capture pipeline keeps the scoring rules, routing rules, SLA policies and the duplicate
matcher in a per-process cache (`pipeline.capture_config`), and routing each team's row and active
reps (`routing.assign`; only the turn state moves with every lead). Whichever process, admin page,
migration or raw UPDATE changes one of the tables they come from, triggers in the database set
`ConfigVersion.token` to a fresh random value in the same transaction, so the next capture in
every process sees another token and loads the configuration again. A random token, not a
counter: a rolled-back change puts the old token back, and a later change can never bring back
a token a process cached under other content.

The triggers are (re)installed after every `migrate` (a `post_migrate` handler): SQLite drops a
table's triggers when a migration rebuilds the table, and installing them again is idempotent.
"""

from django.contrib.auth import get_user_model


class AllBut(tuple):
    """Every column but these (those that move with every lead, or every login)."""


# (app label, model name, the columns whose change matters; None = every column)
WATCHED = [
    ("scoring", "ScoringRule", None),
    ("scoring", "RuleGroup", None),
    ("routing", "RoutingRule", None),
    ("routing", "SlaPolicy", None),
    ("routing", "Absence", None),
    # Not the turn state: rr_counter and rr_position/assigned_count move with every lead.
    ("core", "Team", AllBut(("rr_counter",))),
    ("core", "Membership", AllBut(("rr_position", "assigned_count"))),
    ("quality", "MatchSettings", None),
    ("quality", "MatchModelVersion", ("is_active",)),
]
# Users: rule owners' and reps' names, who is active, the owner row a capture hands back.
USER_FIELDS = AllBut(("last_login",))
VENDORS = ("sqlite", "postgresql")  # the engines the triggers are made for
FUNCTION = "leadline_config_changed"


def _columns(meta, fields) -> list[str] | None:
    if fields is None:
        return None
    if isinstance(fields, AllBut):
        return [f.column for f in meta.concrete_fields if f.name not in fields]
    return [meta.get_field(f).column for f in fields]


def _tables(apps) -> list[tuple[str, list[str] | None]]:
    out = []
    for label, name, fields in WATCHED:
        meta = apps.get_model(label, name)._meta
        out.append((meta.db_table, _columns(meta, fields)))
    user = get_user_model()._meta
    out.append((user.db_table, _columns(user, USER_FIELDS)))
    return out


def install(apps, connection) -> None:
    """Create (or replace) the triggers; a no-op on engines other than SQLite and PostgreSQL."""
    from leadline.intake.models import ConfigVersion

    version = connection.ops.quote_name(ConfigVersion._meta.db_table)
    q = connection.ops.quote_name
    statements = []
    if connection.vendor == "sqlite":
        bump = (
            f"INSERT INTO {version} (id, token) VALUES (1, lower(hex(randomblob(16)))) "
            "ON CONFLICT(id) DO UPDATE SET token = excluded.token;"
        )
        for table, columns in _tables(apps):
            for op in ("INSERT", "UPDATE", "DELETE"):
                name = q(f"leadline_cfg_{table}_{op.lower()}")
                event = op
                if op == "UPDATE" and columns:
                    event = "UPDATE OF " + ", ".join(q(c) for c in columns)
                statements.append(f"DROP TRIGGER IF EXISTS {name}")
                statements.append(
                    f"CREATE TRIGGER {name} AFTER {event} ON {q(table)} BEGIN {bump} END"
                )
    elif connection.vendor == "postgresql":
        statements.append(
            f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN INSERT INTO {version} (id, token) VALUES (1, md5(random()::text || "
            f"clock_timestamp()::text)) ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token; "
            "RETURN NULL; END $$"
        )
        for table, columns in _tables(apps):
            update = "UPDATE OF " + ", ".join(q(c) for c in columns) if columns else "UPDATE"
            statements.append(
                f"CREATE OR REPLACE TRIGGER {q('leadline_cfg_' + table)} AFTER INSERT OR "
                f"{update} OR DELETE OR TRUNCATE ON {q(table)} FOR EACH STATEMENT EXECUTE "
                f"FUNCTION {FUNCTION}()"
            )
    else:
        return
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def on_post_migrate(sender, using, apps=None, **kwargs) -> None:
    from django.apps import apps as global_apps
    from django.db import connections

    apps = apps or global_apps
    try:
        for label, name, _fields in WATCHED:
            apps.get_model(label, name)
        apps.get_model("intake", "ConfigVersion")
    except LookupError:  # migrating to an earlier state: nothing to watch yet
        return
    install(global_apps, connections[using])


def token_query(connection) -> str:
    from leadline.intake.models import ConfigVersion

    q = connection.ops.quote_name
    return f"SELECT {q('token')} FROM {q(ConfigVersion._meta.db_table)} WHERE {q('id')} = 1"
