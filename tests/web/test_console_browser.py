"""The web console in a real browser (Chromium through Playwright) against a real server on
127.0.0.1 over test_efs: browse, complete a record id by name, run, chart, errors, cancel,
download, explain, sign-in. Every step leaves a screenshot in the session's temporary folder.
Answers are compared with the same statements run directly (a session of the server's core)
or through the CLI."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from dsgrid_sql.errors import DsgridSqlError

from .conftest import Console, start_console

pytest.importorskip("playwright")
from playwright.sync_api import expect

LINE_SQL = "SELECT timestamp, us_states, SUM(value) AS value FROM test_efs.data GROUP BY ALL"
LONG_SQL = "SELECT SUM(a.x * b.x) FROM range(9000000) a(x), range(90000) b(x)"


def direct(console: Console, sql: str):  # type: ignore[no-untyped-def]
    return console.core.new_session().sql(sql).to_arrow()


def editor_text(page) -> str:  # type: ignore[no-untyped-def]
    return page.get_by_test_id("sql-editor").input_value()


def run(page, sql: str) -> None:  # type: ignore[no-untyped-def]
    editor = page.get_by_test_id("sql-editor")
    editor.fill(sql)
    editor.press("Control+Enter")


def test_browse_to_a_table_and_its_columns(console: Console, open_console) -> None:
    handle = open_console(console)
    page = handle.page
    tree = page.get_by_test_id("catalog-tree")
    expect(tree.get_by_text("test_efs", exact=True)).to_be_visible()
    handle.shot("catalog")
    # Datasets with their version, layout and time.
    tree.locator("[data-testid=datasets-test_efs] > .node").click()
    dataset = tree.locator("[data-testid=dataset-test_efs_comstock] > .node")
    expect(dataset).to_contain_text("1.0.0")
    dataset.locator(".twisty").click()
    expect(tree.locator("[data-testid=dataset-test_efs_comstock]")).to_contain_text("time")
    # A table: clicking its name inserts it; its columns show types and remarks.
    table = tree.locator("[data-testid='table-test_efs.data']")
    table.locator(".twisty").first.click()
    column = table.locator("[data-testid='column-test_efs.data.us_states'] > .node")
    expect(column).to_contain_text("varchar")
    expect(column).to_contain_text("US States")
    handle.shot("columns")
    page.get_by_test_id("sql-editor").fill("SELECT ")
    page.get_by_test_id("sql-editor").press("End")
    column.click()
    page.get_by_test_id("sql-editor").press("End")
    page.get_by_test_id("sql-editor").type(", SUM(value) FROM ")
    table.locator(":scope > .node .label").click()
    assert editor_text(page) == "SELECT us_states, SUM(value) FROM data"
    handle.shot("inserted")


def test_dimension_records_with_search(console: Console, open_console) -> None:
    handle = open_console(console)
    page = handle.page
    tree = page.get_by_test_id("catalog-tree")
    tree.locator("[data-testid=dimensions] > .node").click()
    tree.locator("[data-testid=dimensions] .node", has_text="geography").first.click()
    counties = tree.locator("[data-testid^=dimension-] > .node", has_text="ComStock")
    counties.first.click()
    records = page.get_by_test_id("records-table")
    expect(records.locator("tbody tr[data-row]").first).to_be_visible()
    page.get_by_test_id("record-search").fill("san diego")
    expect(records.locator("tbody tr[data-row]")).to_have_count(1)
    expect(records).to_contain_text("San Diego")
    handle.shot("records")
    # Mappings show their fractions.
    tree.locator("[data-testid=mappings] > .node").click()
    tree.locator("[data-testid^=mapping-] > .node").first.click()
    expect(page.get_by_test_id("records-table")).to_contain_text("from_fraction")
    handle.shot("mapping")


def test_complete_a_record_id_by_name_then_run(console: Console, open_console) -> None:
    (san_diego,) = (
        direct(
            console,
            "SELECT DISTINCT geography FROM test_efs.data WHERE geography_name LIKE 'San Diego%'",
        )
        .column(0)
        .to_pylist()
    )
    handle = open_console(console)
    page = handle.page
    editor = page.get_by_test_id("sql-editor")
    editor.fill("SELECT SUM(value) AS value FROM data WHERE geography = 'sa")
    editor.press("End")
    editor.type("n")  # typing opens the menu, as in the REPL
    items = page.get_by_test_id("completion-item")
    choice = items.filter(has_text="San Diego")
    expect(choice).to_have_count(1)
    expect(choice).to_contain_text(f"'{san_diego}'")
    handle.shot("completion")
    choice.click()
    assert (
        editor_text(page)
        == f"SELECT SUM(value) AS value FROM data WHERE geography = '{san_diego}'"
    )
    expect(page.get_by_test_id("completion-list")).to_be_hidden()
    page.get_by_test_id("run-button").click()
    expect(page.get_by_test_id("row-count")).to_have_attribute("data-rows", "1")
    expected = direct(console, editor_text(page)).column("value")[0].as_py()
    cell = page.get_by_test_id("result-table").locator("tbody td[data-col='0']").first
    assert float(cell.inner_text()) == pytest.approx(expected, rel=1e-9)
    handle.shot("ran")


def test_complete_with_the_keyboard(console: Console, open_console) -> None:
    handle = open_console(console)
    page = handle.page
    editor = page.get_by_test_id("sql-editor")
    editor.fill("SELECT * FROM test_efs.da")
    editor.press("End")
    editor.press("Control+Space")
    items = page.get_by_test_id("completion-item")
    expect(items.first).to_contain_text("data")
    editor.press("Enter")
    assert editor_text(page) == "SELECT * FROM test_efs.data"
    editor.type(" WHERE us_st")
    editor.press("Tab")
    expect(items.first).to_contain_text("us_states")
    editor.press("Escape")
    expect(page.get_by_test_id("completion-list")).to_be_hidden()
    assert editor_text(page) == "SELECT * FROM test_efs.data WHERE us_st"


def test_run_shows_the_table_and_a_line_per_state(console: Console, open_console) -> None:
    expected = direct(console, LINE_SQL)
    states = len(set(expected.column("us_states").to_pylist()))
    assert states > 1
    handle = open_console(console)
    page = handle.page
    run(page, LINE_SQL)
    count = page.get_by_test_id("row-count")
    expect(count).to_have_attribute("data-rows", str(expected.num_rows))
    expect(count).to_contain_text(re.compile(rf"{expected.num_rows:,} rows · \d+\.\d\d s"))
    table = page.get_by_test_id("result-table")
    expect(table.locator("thead th[data-col]")).to_have_count(3)
    # Virtualized: far fewer rows in the page than in the result, all reachable by scrolling.
    drawn = table.locator("tbody tr[data-row]").count()
    assert 0 < drawn < expected.num_rows
    handle.shot("table")
    # Sorting by value, descending: the first row is the largest value.
    header = table.locator("thead th[data-col='2']")
    header.click()
    header.click()
    expect(header).to_have_attribute("aria-sort", "descending")
    largest = max(expected.column("value").to_pylist())
    top = float(table.locator("tbody tr[data-row='0'] td[data-col='2']").inner_text())
    assert top == pytest.approx(largest, rel=1e-9)
    page.get_by_test_id("tab-chart").click()
    chart = page.get_by_test_id("result-chart")
    expect(chart).to_have_attribute("data-series", str(states))
    expect(chart).to_have_attribute("data-chart-type", "line")
    expect(chart.locator("g.trace.scatter")).to_have_count(states)
    expect(chart.locator("g.legend g.traces")).to_have_count(states)
    handle.shot("line-chart")
    # A total per state is drawn as bars; the user may switch type.
    run(page, "SELECT us_states, SUM(value) AS value FROM test_efs.data GROUP BY ALL")
    expect(chart).to_have_attribute("data-chart-type", "bar")
    expect(chart.locator("g.trace.bars")).to_have_count(1)
    handle.shot("bar-chart")
    page.get_by_test_id("chart-type").select_option("line")
    expect(chart).to_have_attribute("data-chart-type", "line")


def test_an_error_shows_its_sentence_and_where(console: Console, open_console) -> None:
    sql = "SELECT us_statez, SUM(value) FROM data GROUP BY ALL"
    with pytest.raises(DsgridSqlError) as raised:
        direct(console, sql)
    handle = open_console(console)
    page = handle.page
    run(page, sql)
    error = page.get_by_test_id("error-message")
    expect(error).to_be_visible()
    expect(error).to_contain_text(raised.value.message)
    marker = page.get_by_test_id("error-marker")
    expect(marker).to_have_text("us_statez")
    handle.shot("error")
    # Fixing the query clears the error.
    run(page, "SELECT us_states, SUM(value) FROM data GROUP BY ALL")
    expect(page.get_by_test_id("row-count")).to_have_attribute("data-rows", re.compile(r"\d+"))
    expect(error).to_be_hidden()


def test_cancel_a_long_query(console: Console, open_console) -> None:
    handle = open_console(console)
    page = handle.page
    run(page, LONG_SQL)
    cancel = page.get_by_test_id("cancel-button")
    expect(cancel).to_be_enabled()
    expect(page.get_by_test_id("run-button")).to_be_disabled()
    # Long enough to be a job: its progress shows.
    expect(page.get_by_test_id("status")).to_contain_text("job")
    handle.shot("running")
    cancel.click()
    expect(page.get_by_test_id("error-message")).to_contain_text("cancel")
    expect(page.get_by_test_id("run-button")).to_be_enabled()
    expect(cancel).to_be_disabled()
    handle.shot("cancelled")
    states = {r.state.value for r in console.core.jobs.list(None) if r.sql == LONG_SQL}
    assert states == {"CANCELLED"}


def test_download_csv_equals_the_cli(
    console: Console, open_console, efs_dir: Path, same_answer
) -> None:  # type: ignore[no-untyped-def]
    sql = LINE_SQL + " ORDER BY timestamp, us_states"
    handle = open_console(console)
    page = handle.page
    run(page, sql)
    expect(page.get_by_test_id("row-count")).to_have_attribute("data-rows", re.compile(r"\d+"))
    with page.expect_download() as download:
        page.get_by_test_id("download-csv").click()
    saved = Path(download.value.path())
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "dsgrid_sql",
            "query",
            "--registry",
            str(efs_dir),
            "--format",
            "csv",
            sql,
        ],
        capture_output=True,
        check=True,
    )
    # The same header, and the same rows as two runs of one query (a threaded SUM may
    # differ in the last bit, which the CSV writer prints).
    assert saved.read_bytes().splitlines()[0] == cli.stdout.splitlines()[0]
    same_answer(pacsv.read_csv(saved), pacsv.read_csv(io.BytesIO(cli.stdout)))
    assert download.value.suggested_filename.endswith(".csv")
    with page.expect_download() as parquet:
        page.get_by_test_id("download-parquet").click()
    import pyarrow.parquet as pq

    assert pq.read_table(parquet.value.path()).num_rows == direct(console, sql).num_rows
    handle.shot("downloaded")


def test_explain_shows_the_mapping_plan(console: Console, open_console) -> None:
    sql = "SELECT us_states, SUM(value) FROM data GROUP BY ALL"
    handle = open_console(console)
    page = handle.page
    page.get_by_test_id("sql-editor").fill(sql)
    page.get_by_test_id("explain-button").click()
    text = page.get_by_test_id("explain-text")
    expect(text).to_be_visible()
    assert text.inner_text().strip() == console.core.new_session().explain(sql).strip()
    handle.shot("explain")


def test_history_is_kept_in_the_browser(console: Console, open_console) -> None:
    handle = open_console(console)
    page = handle.page
    run(page, "SELECT 1 AS one")
    expect(page.get_by_test_id("row-count")).to_have_attribute("data-rows", "1")
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.get_by_test_id("history").select_option(index=1)
    assert editor_text(page) == "SELECT 1 AS one"


def test_sign_in_when_auth_is_on(
    efs_dir: Path, tmp_path: Path, open_console, users_file: Path, credentials
) -> None:
    (user, password), _ = credentials
    console = start_console(efs_dir, tmp_path / "jobs", users_file=users_file)
    try:
        handle = open_console(console, wait_ready=False)
        page = handle.page
        form = page.get_by_test_id("sign-in")
        expect(form).to_be_visible()
        page.get_by_test_id("sign-in-user").fill(user)
        page.get_by_test_id("sign-in-password").fill("wrong")
        page.get_by_test_id("sign-in-button").click()
        refused = page.get_by_test_id("sign-in-error")
        expect(refused).to_contain_text(re.compile("password|credentials|user", re.I))
        handle.shot("sign-in-refused")
        page.get_by_test_id("sign-in-password").fill(password)
        page.get_by_test_id("sign-in-button").click()
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        expect(page.get_by_test_id("user")).to_have_text(user)
        run(page, "SELECT 'marker-in-the-query' AS answer")
        expect(page.get_by_test_id("row-count")).to_have_attribute("data-rows", "1")
        handle.shot("signed-in")
        token = page.evaluate("sessionStorage.getItem('dsgrid-sql.token')")
        assert token
        assert page.evaluate("JSON.stringify(localStorage)").find(token) == -1
        # Neither the token nor the query text ever travels in a URL.
        assert all(token not in u and "marker-in" not in u for u in handle.requests)
    finally:
        console.close()
