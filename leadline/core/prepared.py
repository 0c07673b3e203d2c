"""Querysets compiled once and run many times: for the few queries every request runs."""

from datetime import UTC, datetime, timedelta

from django.db import connections, models
from django.db.models.query import ModelIterable, get_related_populators
from django.db.transaction import TransactionManagementError


class Prepared:
    """A queryset compiled to SQL once per connection, then run with new values.

    Routing runs the same few small queries for every captured lead, and building and compiling
    a queryset costs ten to thirty times what running one of them does. `build(*args)` makes the
    queryset; `fields[i]` is the model field argument i is compared with (for a list argument,
    each item), which adapts a value exactly as the lookup does. The result is what iterating
    the queryset gives: model instances (select_related rows attached) or values_list tuples.
    """

    def __init__(self, build, *fields):
        self.build, self.fields = build, fields
        self._plans: dict = {}
        self._using: str | None = None

    def __call__(self, *args) -> list:
        if any(isinstance(a, list | tuple) and not a for a in args):
            return []  # `__in=[]` matches nothing (Django raises EmptyResultSet to say so)
        plan = self._plan(args)
        if plan["for_update"] and plan["connection"].get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = list(plan["params"])
        for slot, arg, item in plan["slots"]:
            value = args[arg] if item is None else args[arg][item]
            params[slot] = self.fields[arg].get_db_prep_value(value, plan["connection"])
        with plan["connection"].cursor() as cursor:
            cursor.execute(plan["sql"], params)
            rows = cursor.fetchall()
        compiler = plan["compiler"]
        if plan["converters"]:
            rows = compiler.apply_converters(rows, plan["converters"])
        if plan["model"] is None:
            return [tuple(row) for row in rows]
        using, start, end = plan["using"], plan["start"], plan["end"]
        found = []
        for row in rows:
            obj = plan["model"].from_db(using, plan["init_list"], row[start:end])
            for populator in plan["populators"]:
                populator.populate(row, obj)
            found.append(obj)
        return found

    def _plan(self, args) -> dict:
        shape = tuple(len(a) if isinstance(a, list | tuple) else None for a in args)
        if self._using is None:
            self._using = self.build(*args).db
        using = self._using
        connection = connections[using]
        key = (id(connection), shape)
        plan = self._plans.get(key)
        if plan is not None and plan["connection"] is connection:
            return plan
        sentinels = [
            [_sentinel(f, i * 1000 + j) for j in range(size)]
            if size is not None
            else _sentinel(f, i * 1000)
            for i, (f, size) in enumerate(zip(self.fields, shape, strict=True))
        ]
        queryset = self.build(*sentinels)
        compiler = queryset.query.get_compiler(using)
        sql, params = compiler.as_sql()
        params = list(params)
        slots = []
        for arg, (f, value) in enumerate(zip(self.fields, sentinels, strict=True)):
            items = value if isinstance(value, list) else [value]
            for item, sentinel in enumerate(items):
                adapted = f.get_db_prep_value(sentinel, connection)
                where = [
                    k for k, p in enumerate(params) if type(p) is type(adapted) and p == adapted
                ]
                if len(where) != 1:
                    raise ValueError(f"argument {arg} is not one parameter of {sql}")
                slots.append((where[0], arg, item if isinstance(value, list) else None))
        columns = [s[0] for s in compiler.select[: compiler.col_count]]
        plan = {
            "connection": connection,
            "using": using,
            "sql": sql,
            "params": params,
            "slots": slots,
            "compiler": compiler,
            "converters": compiler.get_converters(columns),
            "model": None,
            "for_update": queryset.query.select_for_update,
        }
        if queryset._iterable_class is ModelIterable:
            info = compiler.klass_info
            start, end = info["select_fields"][0], info["select_fields"][-1] + 1
            plan.update(
                model=info["model"],
                start=start,
                end=end,
                init_list=[c[0].target.attname for c in compiler.select[start:end]],
                populators=get_related_populators(info, compiler.select, using),
            )
        self._plans[key] = plan
        return plan


def _sentinel(f, n: int):
    """A value no real query uses, of the type field `f` compares with."""
    if isinstance(f, models.DateTimeField):
        return datetime(1901, 2, 3, tzinfo=UTC) + timedelta(seconds=n)
    if isinstance(f, models.CharField | models.TextField):
        return f"\x00sentinel-{n}\x00"
    return -987_654_321_000 - n  # integers and foreign keys
