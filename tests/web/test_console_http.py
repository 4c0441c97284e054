"""The console's server side without a browser: the page and its assets (content types,
caching, nothing from another origin), the completion endpoint (the REPL's completion code,
served), explain, the console's catalog endpoints, auth, and `dsgrid-sql web`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dsgrid_sql.completion import build_index, complete

from .conftest import Console, start_console

URL = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def assets(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', page)


def test_the_page_and_its_assets(console: Console) -> None:
    with console.client() as client:
        page = client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["cache-control"] == "no-cache"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        for testid in ("catalog-tree", "sql-editor", "run-button", "cancel-button",
                       "result-table", "result-chart", "error-message", "row-count"):  # fmt: skip
            assert f'data-testid="{testid}"' in page.text
        linked = assets(page.text)
        names = {path.split("?")[0].rsplit("/", 1)[1] for path in linked}
        assert {"app.js", "console.css", "plotly.min.js", "favicon.svg"} <= names
        types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
        for path in linked:
            # Every asset is named with its content's hash, so it is cached for good.
            assert re.search(r"\?v=[0-9a-f]{16}$", path), path
            answer = client.get(path)
            assert answer.status_code == 200, path
            suffix = "." + path.split("?")[0].rsplit(".", 1)[1]
            assert answer.headers["content-type"].startswith(types[suffix]), path
            assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert answer.headers["etag"] == f'"{path.rsplit("=", 1)[1]}"'
        # The modules app.js imports are served too (by name, as browsers resolve them).
        for module in ("api.js", "catalog.js", "chart.js", "editor.js", "grid.js"):
            answer = client.get(f"/static/{module}")
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "text/javascript; charset=utf-8"


def test_no_cdn_in_what_is_served(console: Console) -> None:
    """Our files name no other host; plotly.js is the copy the plotly package ships."""
    import plotly

    with console.client() as client:
        ours = [client.get("/").text]
        static = Path(__file__).parents[2] / "dsgrid_sql" / "web" / "static"
        for path in sorted(static.iterdir()):
            answer = client.get(f"/static/{path.name}")
            if path.suffix == ".html":
                assert answer.status_code == 404  # the page is served at / only
                continue
            assert answer.status_code == 200
            ours.append(answer.text)
        for text in ours:
            # The SVG's namespace is a name, not something fetched.
            found = [u for u in URL.findall(text) if "www.w3.org" not in u]
            assert found == []
        shipped = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        assert client.get("/static/plotly.min.js").content == shipped.read_bytes()


def test_unknown_files_are_not_found(console: Console) -> None:
    with console.client() as client:
        for path in ("/static/nope.js", "/static/..%2Froutes.py", "/static/%2e%2e"):
            answer = client.get(path)
            assert answer.status_code == 404, path
            assert answer.json()["code"] == "not_found"


def at(text: str) -> dict:
    before, _, after = text.partition("<|>")
    return {"text": before + after, "cursor": len(before)}


@pytest.mark.parametrize(
    "text",
    [
        "SEL<|>",
        "SELECT * FROM da<|>",
        "SELECT us_st<|> FROM data",
        "SELECT * FROM data WHERE geography = 'san<|>",
        "SELECT * FROM data WHERE us_states = 'Colo<|>' AND 1 = 1",
        "SELECT * FROM test_efs.<|>",
        "SELECT * FROM data d WHERE d.metric_n<|>",
    ],
)
def test_completion_is_the_repl_completion(console: Console, text: str) -> None:
    index = build_index(console.core.catalogs.current())
    before, _, after = text.partition("<|>")
    expected = complete(before, index, "test_efs", after)
    assert expected
    with console.client() as client:
        answer = client.post("/api/v1/complete", json={**at(text), "schema": "test_efs"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["loading"] is False
    assert body["matches"] == [
        {"text": m.text, "replace": m.replace, "display": m.display, "meta": m.meta}
        for m in expected[:200]
    ]


def test_completion_of_a_record_by_name(console: Console) -> None:
    with console.client() as client:
        body = client.post(
            "/api/v1/complete", json=at("SELECT * FROM data WHERE geography = 'san<|>")
        ).json()
    diego = [m for m in body["matches"] if m["meta"].startswith("San Diego")]
    assert len(diego) == 1
    assert re.fullmatch(r"'\d{5}'", diego[0]["text"])
    assert diego[0]["replace"] == len("'san")


def test_completion_without_the_repl_commands_and_on_odd_input(console: Console) -> None:
    with console.client() as client:
        assert client.post("/api/v1/complete", json=at("\\rec<|>")).json()["matches"] == []
        # A cursor past the end is the end; an empty text offers statement keywords.
        body = client.post("/api/v1/complete", json={"text": "SEL", "cursor": 99}).json()
        assert body["matches"][0]["text"] == "SELECT"
        assert client.post("/api/v1/complete", json={"text": "", "cursor": 0}).status_code == 200
        bad = client.post("/api/v1/complete", json={"text": "x", "cursor": -1})
        assert bad.status_code == 400
        assert bad.json()["code"] == "bad_request"


def test_explain_and_the_console_catalog(console: Console) -> None:
    sql = "SELECT us_states, SUM(value) FROM data GROUP BY ALL"
    with console.client() as client:
        assert client.get("/api/v1/console").json()["auth"] is False
        session = client.get("/api/v1/console/session").json()
        assert session["schema"] == "test_efs"
        assert session["projects"] == ["test_efs"]
        explained = client.post("/api/v1/explain", json={"sql": sql}).json()["text"]
        assert explained == console.core.new_session().explain(sql)
        wrong = client.post("/api/v1/explain", json={"sql": "SELECT nope FROM data"})
        assert wrong.status_code == 400
        assert wrong.json()["code"] == "unknown_column"
        assert wrong.json()["position"]["line"] == 1
        datasets = client.get("/api/v1/console/projects/test_efs/datasets").json()["datasets"]
        assert {d["dataset_id"] for d in datasets} >= {"test_efs_comstock"}
        assert all(d["version"] and d["layout"] and d["time"] for d in datasets)
        # The time configuration in a line: kind, range with its frequency, interval, zone.
        config = next(d for d in datasets if d["dataset_id"] == "test_efs_comstock")["time_config"]
        assert config.startswith("datetime; 2012-01-01") and "every" in config
        assert "period ending" in config and "Etc/GMT+5" in config
        assert client.get("/api/v1/console/projects/nope/datasets").status_code == 404


def test_the_console_asks_for_the_same_sign_in(
    efs_dir: Path, tmp_path: Path, users_file: Path, credentials: list[tuple[str, str]]
) -> None:
    served = start_console(efs_dir, tmp_path / "jobs", users_file=users_file)
    try:
        with served.client() as client:
            # The page and its assets load; everything that reads the registry needs sign-in.
            assert client.get("/").status_code == 200
            assert client.get("/api/v1/console").json()["auth"] is True
            for method, path, body in (
                ("GET", "/api/v1/console/session", None),
                ("POST", "/api/v1/complete", {"text": "SEL", "cursor": 3}),
                ("POST", "/api/v1/explain", {"sql": "SELECT 1"}),
                ("GET", "/api/v1/console/projects/test_efs/datasets", None),
            ):
                assert client.request(method, path, json=body).status_code == 401, path
            token = client.post("/api/v1/token", auth=credentials[0]).json()["token"]
            bearer = {"Authorization": f"Bearer {token}"}
            answer = client.post(
                "/api/v1/complete", json={"text": "SEL", "cursor": 3}, headers=bearer
            )
            assert answer.status_code == 200
            assert (
                client.get("/api/v1/console/session", headers=bearer).json()["user"]
                == (credentials[0][0])
            )
    finally:
        served.close()


def test_serve_and_web_commands(efs_dir: Path, tmp_path: Path) -> None:
    """`dsgrid-sql web` prints the address, opens the browser ($BROWSER here) and serves
    the console until SIGTERM."""
    opened = tmp_path / "opened"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    env = {**os.environ, "BROWSER": f"{browser} %s"}
    process = subprocess.Popen(
        [sys.executable, "-m", "dsgrid_sql", "web", "--registry", str(efs_dir), "--jobs-dir",
         str(tmp_path / "jobs")],
        stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line
        page = httpx.get(url.group(0), timeout=30)
        assert page.status_code == 200
        assert 'data-testid="sql-editor"' in page.text
        # webbrowser runs $BROWSER in the background: wait for the file it writes.
        assert wait_for(lambda: opened.exists() and opened.read_text().strip())
        assert opened.read_text().strip() == url.group(0)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "stopped" in err


def wait_for(condition, timeout_s: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    """Poll a condition until it holds (or the time is up)."""
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_serve_with_http_port_serves_the_console(efs_dir: Path, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "dsgrid_sql", "serve", "--registry", str(efs_dir), "--port", "0",
         "--http-port", "0", "--jobs-dir", str(tmp_path / "jobs"), "--log-level", "WARNING"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        url = None
        while url is None:
            line = process.stderr.readline()
            assert line, "serve stopped before it printed its HTTP address"
            found = re.search(r"web console: (http://127\.0\.0\.1:\d+)/", line)
            url = found.group(1) if found else None
        page = httpx.get(url + "/", timeout=30)
        assert page.status_code == 200
        assert 'data-testid="catalog-tree"' in page.text
        assert httpx.get(url + "/health", timeout=30).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    assert process.returncode == 0


def test_web_without_a_browser_prints_the_address(efs_dir: Path, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "dsgrid_sql", "web", "--registry", str(efs_dir), "--no-browser",
         "--jobs-dir", str(tmp_path / "jobs")],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "BROWSER": "false"},
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert re.search(r"console on http://127\.0\.0\.1:\d+/", line), line
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
