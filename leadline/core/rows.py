"""Rows written straight to the database: many rows in a few statements, each value adapted as
`Model.save()` adapts it, without building a model instance per row.

The capture pipeline, imports, the review queue and the scoring jobs write through here. On
SQLite a batch's statement uses the driver's own `?` placeholders; on PostgreSQL many rows go
through COPY and a few tables' rows in one statement (`insert_together`).
"""

from dataclasses import dataclass

from django.db import connections, models
from django.db import router as db_router

_DEFAULTS: dict = {}


def new_row(model, values: dict) -> dict:
    """A row as `model(**values)` would hold it: the given values over the field defaults."""
    if model not in _DEFAULTS:
        constant, fresh = {}, []
        for f in model._meta.concrete_fields:
            if f.has_default() and callable(f.default):
                fresh.append(f)  # dict, list, now: a new value for each row
            else:
                constant[f.attname] = f.get_default()
        _DEFAULTS[model] = (constant, tuple(fresh))
    constant, fresh = _DEFAULTS[model]
    row = dict(constant)
    for f in fresh:
        if f.attname not in values:
            row[f.attname] = f.get_default()
    row.update(values)
    return row


# Values of these field types are passed to the driver as they are when they already have the
# Python type the column takes (Field.get_db_prep_save would return them unchanged); any other
# value, and every JSON, date/time and decimal value, goes through get_db_prep_save.
_PLAIN_TYPES = {
    "CharField": str,
    "TextField": str,
    "SlugField": str,
    "BooleanField": bool,
    "IntegerField": int,
    "SmallIntegerField": int,
    "BigIntegerField": int,
    "PositiveIntegerField": int,
    "PositiveSmallIntegerField": int,
    "PositiveBigIntegerField": int,
    "FloatField": float,
    "ForeignKey": int,
}


def insert_rows(
    model, rows: list[dict], *, returning: bool = False, ignore_conflicts: bool = False
) -> list[int]:
    """INSERT rows (attname → value; missing fields get their defaults) with as few statements
    as the database's parameter limit allows, each value adapted as `Model.save()` adapts it.
    Returns the new primary keys when asked (both engines support INSERT … RETURNING).

    `ignore_conflicts`: a row that would break a unique constraint is skipped, as
    `bulk_create(ignore_conflicts=True)` skips it (no ids returned then)."""
    if not rows:
        return []
    if returning and ignore_conflicts:
        raise ValueError("a skipped row has no id: returning and ignore_conflicts exclude")
    connection = connections[db_router.db_for_write(model)]
    plan = _insert_plan(model, connection, ignore_conflicts)
    tail = plan.conflict + (plan.returning if returning else "")
    ids: list[int] = []
    if len(rows) <= 4:  # a single capture: adapted row by row, with no per-column lists
        # A row that already has every column (a new lead's values, built by new_row) is used as
        # it is.
        rows = [row if len(row) > len(plan.fields) else new_row(model, row) for row in rows]
        cells = _one_adapters(plan, connection)
        values = [tuple([adapt(row[name]) for name, adapt in cells]) for row in rows]
        if connection.vendor == "sqlite":
            return _insert_sqlite(connection, plan, values, returning)
    else:
        columns = [
            _adapt(column, how, connection)
            for column, (_name, how) in zip(_columns(model, plan, rows), plan.fields, strict=True)
        ]
        if plan.copy and len(rows) >= 100:  # below that, COPY's extra round trip costs more
            return _copy(connection, plan, columns, returning)
        values = list(zip(*columns, strict=True))
        if connection.vendor == "sqlite":
            return _insert_sqlite(connection, plan, values, returning)
    with connection.cursor() as cursor:
        for start in range(0, len(values), plan.per_statement):
            chunk = values[start : start + plan.per_statement]
            cursor.execute(
                plan.head + ", ".join([plan.one] * len(chunk)) + tail,
                [v for row in chunk for v in row],
            )
            if returning:
                ids.extend(r[0] for r in cursor.fetchall())
    return ids


def insert_together(
    parts: list[tuple[type, list[dict]]], also: list[tuple[str, list]] = ()
) -> list[int]:
    """A few rows for each of several tables, the last table's new ids returned. On
    PostgreSQL one statement — every INSERT but the last a data-modifying WITH clause — so a
    single capture pays one round trip and one statement's overhead instead of one per table;
    elsewhere, and for more than a few rows, one `insert_rows` per table.

    PostgreSQL: a part whose rows carry their own primary key (drawn with `next_ids`) is
    inserted with it, so rows of other parts can refer to it in the same statement; `also`,
    other data-modifying statements (sql, params) run in it first (the rotation's turn)."""
    parts = [(model, rows) for model, rows in parts if rows]
    if not parts:
        return []
    connection = connections[db_router.db_for_write(parts[-1][0])]
    own_ids = [rows[0].get(model._meta.pk.attname) is not None for model, rows in parts]
    if connection.vendor != "postgresql":
        if any(own_ids) or also:
            raise ValueError("rows with their own ids go in one PostgreSQL statement only")
    if connection.vendor != "postgresql" or (
        not any(own_ids) and not also and (len(parts) == 1 or max(len(r) for _m, r in parts) > 20)
    ):
        for model, rows in parts[:-1]:
            insert_rows(model, rows)
        return insert_rows(parts[-1][0], parts[-1][1], returning=True)
    clauses = [sql for sql, _params in also]
    params = [v for _sql, values in also for v in values]
    for (model, rows), with_pk in zip(parts, own_ids, strict=True):
        plan = _insert_plan(model, connection, with_pk=with_pk)
        cells = _one_adapters(plan, connection)
        for row in rows:
            full = row if len(row) >= len(plan.fields) else new_row(model, row)
            params.extend([adapt(full[name]) for name, adapt in cells])
        clauses.append(plan.head + ", ".join([plan.one] * len(rows)))
    sql = (
        "WITH "
        + ", ".join(f"w{n} AS ({clause})" for n, clause in enumerate(clauses[:-1]))
        + f" {clauses[-1]}{plan.returning}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [r[0] for r in cursor.fetchall()]


def next_ids(model, n: int) -> list[int]:
    """PostgreSQL: n new primary keys drawn from the table's sequence, in order (for rows
    `insert_together` writes with the rows that refer to them)."""
    connection = connections[db_router.db_for_write(model)]
    with connection.cursor() as cursor:
        cursor.execute(_insert_plan(model, connection).next_ids, [n])
        return [r[0] for r in cursor.fetchall()]


def _columns(model, plan: "_InsertPlan", rows: list[dict]) -> list[list]:
    """The rows' values column by column, a missing value filled as `new_row` fills it (a fresh
    default per row where the default is callable), without building a full dict per row."""
    if model not in _DEFAULTS:
        new_row(model, {})
    constant, fresh = _DEFAULTS[model]
    fresh_fields = {f.attname: f for f in fresh}
    columns = []
    for name, _how in plan.fields:
        field = fresh_fields.get(name)
        if field is None:
            default = constant[name]
            columns.append([row.get(name, default) for row in rows])
        else:
            columns.append([row[name] if name in row else field.get_default() for row in rows])
    return columns


def _insert_sqlite(connection, plan: "_InsertPlan", values: list[tuple], returning: bool):
    """SQLite, a batch: the multi-row INSERT written with the driver's own `?` placeholders
    and run on its own cursor. Django's cursor would rewrite every `%s` of a statement of up
    to 32,766 parameters with a regular expression (≈1 ms a statement, a dozen statements a
    batch); the rows and their adapted values are the same."""
    ids: list[int] = []
    connection.ensure_connection()
    cursor = connection.connection.cursor()
    # Errors come out as Django's (IntegrityError, …), as from Django's cursor: callers retry on
    # them.
    with connection.wrap_database_errors:
        try:
            for start in range(0, len(values), plan.per_statement):
                chunk = values[start : start + plan.per_statement]
                cursor.execute(
                    _qmark_statement(plan, len(chunk), returning),
                    [v for row in chunk for v in row],
                )
                if returning:
                    ids.extend(r[0] for r in cursor.fetchall())
        finally:
            cursor.close()
    return ids


_QMARK_STATEMENTS: dict = {}


def _qmark_statement(plan: "_InsertPlan", rows: int, returning: bool) -> str:
    """The statement for `rows` rows; kept only for a full chunk (the common one) and for the
    few rows of a single capture, so a million-row import holds one statement per table, not
    one per row count it met."""
    key = (plan.head, returning, rows)
    sql = _QMARK_STATEMENTS.get(key)
    if sql is None:
        one = plan.one.replace("%s", "?")
        sql = plan.head + ", ".join([one] * rows) + (plan.returning if returning else "")
        if rows == plan.per_statement or rows <= 8:
            _QMARK_STATEMENTS[key] = sql
    return sql


def update_rows(model, objs: list, fields: tuple[str, ...]) -> None:
    """Write `fields` of model instances back, each value adapted as `Model.save()` adapts it:
    one prepared UPDATE by primary key, executed for every instance (executemany). What
    `bulk_update` writes, without its CASE WHEN per field per row (≈4 ms a lead to build)."""
    if not objs:
        return
    connection = connections[db_router.db_for_write(model)]
    meta = model._meta
    quote = connection.ops.quote_name
    targets = [meta.get_field(name) for name in fields]
    sql = (
        f"UPDATE {quote(meta.db_table)} SET "
        + ", ".join(f"{quote(f.column)} = %s" for f in targets)
        + f" WHERE {quote(meta.pk.column)} = %s"
    )
    columns = [
        _adapt([getattr(obj, f.attname) for obj in objs], _how(f, connection), connection)
        for f in targets
    ]
    columns.append([obj.pk for obj in objs])
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(zip(*columns, strict=True)))


@dataclass(frozen=True)
class _InsertPlan:
    fields: list[tuple[str, tuple]]  # (attname, how to adapt its values)
    head: str
    one: str
    returning: str
    conflict: str  # PostgreSQL: ON CONFLICT DO NOTHING when conflicts are ignored
    per_statement: int
    copy: str  # PostgreSQL: COPY … FROM STDIN for many rows ("" elsewhere)
    next_ids: str


_INSERT_PLANS: dict = {}


def _insert_plan(
    model, connection, ignore_conflicts: bool = False, with_pk: bool = False
) -> _InsertPlan:
    key = (model, connection.alias, ignore_conflicts, with_pk)
    if key not in _INSERT_PLANS:
        meta = model._meta
        fields = [f for f in meta.concrete_fields if with_pk or f is not meta.pk]
        quote = connection.ops.quote_name
        table, pk = quote(meta.db_table), quote(meta.pk.column)
        columns = ", ".join(quote(f.column) for f in fields)
        postgres = connection.vendor == "postgresql"
        _INSERT_PLANS[key] = _InsertPlan(
            fields=[(f.attname, _how(f, connection)) for f in fields],
            head=(
                f"INSERT {'OR IGNORE ' if ignore_conflicts and not postgres else ''}"
                f"INTO {table} ({columns}) VALUES "
            ),
            one="(" + ", ".join(["%s"] * len(fields)) + ")",
            returning=f" RETURNING {pk}",
            conflict=" ON CONFLICT DO NOTHING" if ignore_conflicts and postgres else "",
            per_statement=max(1, min(1000, _max_params(connection) // len(fields))),
            # COPY cannot skip a conflicting row: those inserts take the INSERT path.
            copy=(
                f"COPY {table} ({{}}{columns}) FROM STDIN"
                if postgres and not ignore_conflicts
                else ""
            ),
            next_ids=(
                f"SELECT nextval(pg_get_serial_sequence('{table}', '{meta.pk.column}')) "
                "FROM generate_series(1, %s)"
            ),
        )
    return _INSERT_PLANS[key]


def _copy(connection, plan: _InsertPlan, columns: list[list], returning: bool) -> list[int]:
    """PostgreSQL, many rows: COPY, the bulk-load path, formats rows in psycopg's C code and
    plans nothing per row (a multi-row INSERT or UNNEST spends ~4x the CPU quoting values).
    New ids are drawn from the table's sequence first, in order, when asked for. COPY goes to
    the driver's own cursor, so Django's query wrappers see only the id query."""
    ids: list[int] = []
    pk = ""
    with connection.cursor() as cursor:
        if returning:
            cursor.execute(plan.next_ids, [len(columns[0])])
            ids = [r[0] for r in cursor.fetchall()]
            columns = [ids, *columns]
            pk = plan.returning.removeprefix(" RETURNING ") + ", "
        with cursor.cursor.copy(plan.copy.format(pk)) as copy:
            for row in zip(*columns, strict=True):
                copy.write_row(row)
    return ids


def _how(field, connection) -> tuple:
    prep = field.get_db_prep_save
    plain = _PLAIN_TYPES.get(field.get_internal_type())
    if plain is not None:
        return ("plain", prep, plain)
    if isinstance(field, models.JSONField):
        return ("json", prep, {dict: prep({}, connection), list: prep([], connection)})
    if isinstance(field, models.DateTimeField):
        return ("moment", prep, None)
    return ("other", prep, None)


_ONE_ADAPTERS: dict = {}


def _one_adapters(plan: "_InsertPlan", connection) -> list[tuple[str, object]]:
    """(attname, `_adapt` for one value) per column of a plan, made once per connection."""
    key = (id(plan), id(connection))  # plans live as long as the process
    found = _ONE_ADAPTERS.get(key)
    if found is None or found[0] is not connection:
        found = (connection, [(name, _one_adapter(how, connection)) for name, how in plan.fields])
        _ONE_ADAPTERS[key] = found
    return found[1]


def _one_adapter(how: tuple, connection):
    """`_adapt` for one value, bound to one connection (Django's connections are per thread,
    so the moment remembered below is too)."""
    kind, prep, extra = how
    if kind == "plain":

        def adapt(v):
            return v if v is None or type(v) is extra else prep(v, connection)

    elif kind == "json":
        # As `_adapt`: a dict or list goes to the backend's JSON adapter without the field's
        # chain of checks.
        to_json, encoder = connection.ops.adapt_json_value, prep.__self__.encoder

        def adapt(v):
            if v is None:
                return None
            if type(v) in extra:
                return to_json(v, encoder) if v else extra[type(v)]
            return prep(v, connection)

    elif kind == "moment":
        # A capture's rows share its moment (created, updated, run at…): adapted once.
        last = [None, None]

        def adapt(v):
            if v is None:
                return None
            if v is not last[0]:
                last[:] = [v, prep(v, connection)]
            return last[1]

    else:

        def adapt(v):
            return prep(v, connection)

    return adapt


def _adapt(column: list, how: tuple, connection) -> list:
    """One column's values as the driver gets them from `Model.save()`."""
    kind, prep, extra = how
    if kind == "plain":
        return [v if v is None or type(v) is extra else prep(v, connection) for v in column]
    if kind == "json":
        # A dict or list is what JSONField.get_db_prep_save hands to the backend's
        # adapt_json_value as it is: called directly, without the field's chain of checks.
        to_json, encoder = connection.ops.adapt_json_value, prep.__self__.encoder
        out = []
        for v in column:
            if v is None:
                out.append(None)
            elif type(v) in extra:
                out.append(to_json(v, encoder) if v else extra[type(v)])
            else:
                out.append(prep(v, connection))
        return out
    if kind == "moment":
        # A batch's rows share their capture moment: adapt each distinct moment once.
        seen: dict = {}
        for v in column:
            if v is not None and v not in seen:
                seen[v] = prep(v, connection)
        return [None if v is None else seen[v] for v in column]
    return [prep(v, connection) for v in column]


def _max_params(connection) -> int:
    if connection.vendor == "sqlite":
        import sqlite3

        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return connection.features.max_query_params or 65535
