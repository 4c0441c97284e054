"""Mapping plans and their engine SQL, kept per catalog (one registry version).

A plan depends only on the catalog, the table, the columns a query reads, the filters pushed
below the mappings and the engine dialect. Building one copies sqlglot trees and builds the
mapping tables (a 3,000-county supplemental mapping is 3,000 rows): most of a translation's
time. A BI tool or dashboard sends the same few shapes again and again, so each shape is
planned and generated once per registry version; a new registry version is a new Catalog
object and starts empty, so nothing stale is ever reused.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable, Sequence

from dsgrid_sql.catalog import Catalog, Table

from .table_plan import Restrictions, TablePlan, plan_virtual_table

MAX_PLANS = 256  # per catalog; least recently used first out

_lock = threading.Lock()
_plans: weakref.WeakKeyDictionary[Catalog, OrderedDict[Hashable, TablePlan]] = (
    weakref.WeakKeyDictionary()
)


def _key(
    table: Table, needed: Sequence[str], restrictions: Restrictions, dialect: str
) -> Hashable:
    return (
        table.kind,
        table.schema,
        table.name,
        table.project_id,
        table.project_version,
        tuple(table.dataset_ids),
        tuple(needed),
        tuple(sorted((t.value, tuple(sorted(ids))) for t, ids in restrictions.base.items())),
        tuple(sorted((c, tuple(sorted(ids))) for c, ids in restrictions.supplemental.items())),
        None if restrictions.datasets is None else tuple(sorted(restrictions.datasets)),
        dialect,
    )


def cached_plan(
    catalog: Catalog,
    table: Table,
    needed: Sequence[str],
    restrictions: Restrictions,
    dialect: str,
) -> TablePlan:
    key = _key(table, needed, restrictions, dialect)
    with _lock:
        plans = _plans.setdefault(catalog, OrderedDict())
        plan = plans.get(key)
        if plan is not None:
            plans.move_to_end(key)
            return plan
    # Planned outside the lock: two threads may plan one shape at once; both are equal.
    plan = plan_virtual_table(catalog, table, needed, restrictions, dialect)
    with _lock:
        plans[key] = plan
        while len(plans) > MAX_PLANS:
            plans.popitem(last=False)
    return plan


def plan_sql(plan: TablePlan, dialect: str) -> str:
    """The plan's SELECT in the engine dialect, generated once."""
    rendered = plan.rendered.get(dialect)
    if rendered is None:
        # Racing threads generate the same text; the last write wins harmlessly.
        rendered = plan.rendered[dialect] = plan.select.sql(dialect=dialect, identify=True)
    return rendered
