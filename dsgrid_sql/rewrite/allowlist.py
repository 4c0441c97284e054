"""What a query may contain: an allowlist of statement kinds and functions (DESIGN.md §8).

Anything not listed is refused before the engine sees it, so a function an engine adds
later (a file reader, an environment probe) is refused until someone decides it is safe.
"""

from __future__ import annotations

from sqlglot import exp

from dsgrid_sql.errors import UnknownFunctionError, UnsupportedSqlError
from dsgrid_sql.suggest import did_you_mean

# sqlglot function classes that compute on values only, and behave alike on both engines,
# grouped as SQL's metadata (JDBC/Flight SQL function lists) groups them.
_FUNCTION_CLASS_GROUPS = {
    "aggregate": {
        "Sum", "Avg", "Min", "Max", "Count", "CountIf", "Stddev", "StddevPop", "StddevSamp",
        "Variance", "VariancePop", "Median", "Quantile", "PercentileCont", "PercentileDisc",
        "ApproxDistinct", "ApproxQuantile", "AnyValue", "First", "Last", "ArrayAgg",
        "GroupConcat", "BoolAnd", "BoolOr", "Corr", "CovarPop", "CovarSamp", "LogicalAnd",
        "LogicalOr", "ArgMax", "ArgMin", "Mode",
    },
    "window": {
        "RowNumber", "Rank", "DenseRank", "PercentRank", "CumeDist", "Ntile", "Lag", "Lead",
        "FirstValue", "LastValue", "NthValue",
    },
    "numeric": {
        "Abs", "Round", "Floor", "Ceil", "Sqrt", "Pow", "Exp", "Ln", "Log", "Log2", "Log10",
        "Sign", "Mod", "Greatest", "Least", "Cbrt", "Trunc",
    },
    "system": {"Coalesce", "If", "Nullif", "Case", "IfNull", "Nvl2", "Cast", "TryCast"},
    "string": {
        "Lower", "Upper", "Length", "Substring", "Concat", "ConcatWs", "Trim", "Replace",
        "StrPosition", "Left", "Right", "Pad", "Split", "RegexpLike", "RegexpExtract",
        "RegexpReplace", "Reverse", "Initcap", "StartsWith", "EndsWith", "Contains", "Repeat",
        "Format", "Lpad", "Rpad", "Ascii", "Chr", "Md5",
    },
    "datetime": {
        "DateTrunc", "TimestampTrunc", "Extract", "Year", "Month", "Day", "Hour", "Minute",
        "Second", "Quarter", "Week", "WeekOfYear", "DayOfWeek", "DayOfWeekIso", "DayOfMonth",
        "DayOfYear", "DateAdd", "DateSub", "DateDiff", "TimestampAdd", "TimestampSub",
        "TimestampDiff", "DatetimeAdd", "DatetimeSub", "DatetimeDiff", "TsOrDsAdd",
        "TsOrDsDiff", "CurrentDate", "CurrentTimestamp", "StrToTime", "StrToDate", "TimeToStr",
        "TsOrDsToDate", "TsOrDsToTimestamp", "Date", "TimeStrToTime", "UnixToTime",
        "TimeToUnix", "DateFromParts", "TimestampFromParts", "LastDay", "ConvertTimezone",
        "AtTimeZone", "MakeInterval", "GenerateDateArray",
    },
    "array": {
        "Array", "ArraySize", "ArrayContains", "Struct", "StructExtract", "Bracket", "Explode",
        "Unnest",
    },
}  # fmt: skip
_ALLOWED_FUNCTION_CLASSES = set().union(*_FUNCTION_CLASS_GROUPS.values())

# Functions sqlglot does not model (parsed as Anonymous) that are safe on both engines.
_ANONYMOUS_GROUPS = {
    "datetime": {
        "date_part", "datepart", "strftime", "strptime", "make_timestamp", "to_timestamp",
        "epoch", "epoch_ms", "hour", "minute", "second", "isodow", "dayofweek", "weekday",
        "from_utc_timestamp", "to_utc_timestamp", "timezone", "date_format", "unix_timestamp",
    },
    "aggregate": {"sum_if", "count_if", "fsum", "kahan_sum"},
    "numeric": {
        "try_divide", "nanvl", "isnan", "isinf", "power", "ceiling", "pi", "radians",
        "degrees", "sin", "cos", "tan", "asin", "acos", "atan", "atan2",
    },
    "string": {
        "lcase", "ucase", "char_length", "character_length", "position", "instr", "btrim",
        "ltrim", "rtrim", "split_part", "string_split",
    },
    "array": {"list_value"},
}  # fmt: skip
_ALLOWED_ANONYMOUS = set().union(*_ANONYMOUS_GROUPS.values())

ALLOWED_FUNCTIONS = {
    cls.__name__ for cls in exp.ALL_FUNCTIONS if cls.__name__ in _ALLOWED_FUNCTION_CLASSES
}


def function_names(group: str | None = None) -> list[str]:
    """Allowed function names (lower case), all of them or one group's."""
    names = set(_ALLOWED_ANONYMOUS if group is None else _ANONYMOUS_GROUPS.get(group, ()))
    classes = ALLOWED_FUNCTIONS if group is None else _FUNCTION_CLASS_GROUPS[group]
    for cls in exp.ALL_FUNCTIONS:
        if cls.__name__ in classes and cls.__name__ in ALLOWED_FUNCTIONS:
            names.update(n.lower() for n in cls.sql_names())
    return sorted(names)


FUNCTION_GROUPS = tuple(_FUNCTION_CLASS_GROUPS)
KNOWN_FUNCTION_NAMES = function_names()


# The parts a query may be built of besides functions and operators (which have their own
# allowlist and are checked by check_functions). A node of any other kind — SELECT ... INTO,
# a DML statement inside a CTE, Spark's TRANSFORM ... USING 'script', FOR UPDATE, an engine
# hint — is refused, whatever an engine would make of it.
_QUERY_PARTS = {
    # statements and their clauses
    "Select", "Union", "Intersect", "Except", "Values", "Subquery", "With", "CTE", "From",
    "Join", "Where", "Group", "Having", "Qualify", "Order", "Ordered", "Limit", "Offset",
    "Fetch", "Distinct", "Window", "WindowSpec", "Lateral", "Pivot", "PivotAlias", "Cube",
    "Rollup", "GroupingSets", "TableSample", "Semicolon",
    # names and values
    "Table", "TableAlias", "Alias", "Aliases", "Column", "Identifier", "Literal", "Star",
    "Null", "Boolean", "Paren", "Tuple", "DataType", "DataTypeParam", "Interval",
    "IntervalSpan", "Var", "Placeholder", "Parameter", "Bracket", "Slice", "Escape",
    "Kwarg", "PropertyEQ", "Lambda", "IgnoreNulls", "RespectNulls", "WithinGroup", "Filter",
    "HavingMax", "ColumnPosition",
    # x AT TIME ZONE 'zone' (time_zones.py gives it one meaning on both engines)
    "AtTimeZone",
}  # fmt: skip
# Operators are Func subclasses in sqlglot too (AND, comparisons, LIKE, arithmetic).
_OPERATORS = (exp.Binary, exp.Connector, exp.Unary, exp.Predicate)


def check_statement_kind(statement: exp.Expression) -> None:
    if not isinstance(statement, exp.Query | exp.Values):
        kind = statement.key.upper()
        raise UnsupportedSqlError(
            f"{kind} statements are not allowed: dsgrid-sql runs read-only queries.",
            hint="Use SELECT (or WITH ... SELECT); SHOW, DESCRIBE, EXPLAIN, USE, SET and "
            "COPY (query) TO are also available.",
        )
    check_query_parts(statement)


def check_query_parts(statement: exp.Expression) -> None:
    """Refuse any part of the query that is not on the allowlist of query parts."""
    for node in statement.walk():
        if isinstance(node, (exp.Func, exp.Command, *_OPERATORS)):
            continue  # check_functions decides on these
        if type(node).__name__ in _QUERY_PARTS:
            continue
        if isinstance(node, exp.DDL | exp.DML):
            what = f"{node.key.upper()} statements are"
        elif isinstance(node, exp.Into):
            what = "SELECT ... INTO is"
        else:
            what = f"{_describe(node)} is"
        raise UnsupportedSqlError(
            f"{what} not allowed: dsgrid-sql runs read-only queries over catalog tables.",
            hint="Queries may use SELECT, WITH, VALUES, joins, subqueries, set operations, "
            "window functions and the allowed functions.",
        )


def _describe(node: exp.Expression) -> str:
    words = {"QueryTransform": "TRANSFORM ... USING", "Lock": "FOR UPDATE / FOR SHARE"}
    name = type(node).__name__
    return words.get(name, f"'{node.key.upper()}'")


def check_functions(statement: exp.Expression, position_of) -> None:  # type: ignore[no-untyped-def]
    """Refuse any function not on the allowlist, with a suggestion when a known one is close."""
    for node in statement.walk():
        if isinstance(node, exp.Command):
            raise UnsupportedSqlError(f"'{node.name.upper()}' is not allowed in a query.")
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name not in _ALLOWED_ANONYMOUS:
                _refuse(node.name, node, position_of)
        elif (
            isinstance(node, exp.Func)
            # Operators (AND, OR, comparisons) are Func subclasses in sqlglot too.
            and not isinstance(node, exp.Binary | exp.Connector | exp.Unary | exp.Predicate)
            and type(node).__name__ not in ALLOWED_FUNCTIONS
        ):
            _refuse(node.sql_name().lower(), node, position_of)


# Allowed functions whose value depends on when the query runs, not on the data. A query
# using one, or sampling rows (engines give a seed no guarantee across threads), is not
# repeatable (Translation.repeatable): its result is never served from the result cache.
_TIME_DEPENDENT = {"CurrentDate", "CurrentTimestamp"}
_TIME_DEPENDENT_ANONYMOUS = {"unix_timestamp"}  # with no argument: now


def repeatable(statement: exp.Expression) -> bool:
    """Whether the statement, run again on the same data, has the same answer (an answer
    that may come in any row order, or pick any value for ANY_VALUE, counts as the same:
    any of them is correct)."""
    for node in statement.walk():
        if type(node).__name__ in _TIME_DEPENDENT:
            return False
        if isinstance(node, exp.TableSample):
            return False
        if (
            isinstance(node, exp.Anonymous)
            and node.name.lower() in _TIME_DEPENDENT_ANONYMOUS
            and not node.expressions
        ):
            return False
    return True


def _refuse(name: str, node: exp.Expression, position_of) -> None:  # type: ignore[no-untyped-def]
    suggestion = did_you_mean(name, KNOWN_FUNCTION_NAMES)
    raise UnknownFunctionError(
        f"Function '{name}' is unknown or not allowed.",
        suggestion=suggestion,
        position=position_of(node),
        hint="dsgrid-sql allows functions that compute on values; file readers, table "
        "functions and functions that reach outside the data are refused.",
    )
