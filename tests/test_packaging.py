"""The distribution: one import root, catalog/ and flight_server/ mapped into it, in an
editable install and in a built wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_editable_install_maps_top_level_folders() -> None:
    import dsgrid_sql.catalog
    import dsgrid_sql.flight_server

    assert Path(dsgrid_sql.catalog.__file__).parent == REPO / "catalog"
    assert Path(dsgrid_sql.flight_server.__file__).parent == REPO / "flight_server"


@pytest.mark.wheel
def test_wheel_installs_and_imports(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("dsgrid_sql-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "dsgrid_sql/catalog/catalog.py" in names
    assert "dsgrid_sql/flight_server/__init__.py" in names
    assert "dsgrid_sql/generator/design.py" in names
    # Every module of the source tree is in the wheel.
    sources = [(REPO / "dsgrid_sql", "dsgrid_sql"), (REPO / "catalog", "dsgrid_sql/catalog")]
    sources.append((REPO / "flight_server", "dsgrid_sql/flight_server"))
    for root, prefix in sources:
        for module in root.rglob("*.py"):
            assert f"{prefix}/{module.relative_to(root).as_posix()}" in names, module
    # Nothing generic lands at the top of site-packages.
    assert {n.split("/")[0] for n in names} <= {
        "dsgrid_sql",
        wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info",
    }
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    code = (
        "import dsgrid_sql, dsgrid_sql.catalog, dsgrid_sql.flight_server, dsgrid_sql.session;"
        "import dsgrid_sql.engine.duckdb, dsgrid_sql.rewrite.translate;"
        "from dsgrid_sql.catalog import Catalog;"
        "print(dsgrid_sql.catalog.__file__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip().startswith(str(target))


def _pip_cannot_reach_index(stderr: str) -> str | None:
    """The package a failed ``pip install`` could not download, when the cause is the
    package index being out of reach (no network, no mirror) rather than the wheel."""
    unreachable = (
        "Could not find a version that satisfies the requirement",
        "No matching distribution found for",
        "Failed to establish a new connection",
        "Temporary failure in name resolution",
        "Network is unreachable",
        "Max retries exceeded",
    )
    if not any(text in stderr for text in unreachable):
        return None
    for line in stderr.splitlines():
        if "No matching distribution found for" in line:
            return line.split("found for", 1)[1].strip()
    return "the package index"


@pytest.mark.wheel
def test_wheel_in_a_clean_environment_runs_the_demo(tmp_path: Path) -> None:
    """What a newcomer does: install the built wheel (not editable) into a fresh virtual
    environment, its dependencies from the package index, and run `dsgrid-sql demo` in an
    empty folder."""
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(dist), str(REPO)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = dist.glob("dsgrid_sql-*.whl")
    venv = tmp_path / "venv"
    # Without pip: the environment's own pip is not needed, the running one installs into it.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", str(wheel)],
        capture_output=True, text=True,
    )  # fmt: skip
    if installed.returncode != 0:
        missing = _pip_cannot_reach_index(installed.stderr)
        if missing is not None:
            pytest.skip(f"pip cannot download {missing} (package index out of reach)")
        pytest.fail(f"pip install of the wheel failed:\n{installed.stderr[-3000:]}")
    cwd = tmp_path / "newcomer"
    cwd.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    demo = subprocess.run(
        [str(venv / "bin" / "dsgrid-sql"), "demo"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "Traceback" not in demo.stderr
    out = demo.stdout
    assert "Projects" in out and "dsgrid_demo" in out and "Datasets" in out and "Tables" in out
    assert "Columns of dsgrid_demo.data:" in out and "us_states" in out
    assert (cwd / "demo" / "registry.db").is_file()
    # The installed copy ran, not this checkout.
    where = subprocess.run(
        [str(python), "-c", "import dsgrid_sql; print(dsgrid_sql.__file__)"],
        cwd=cwd, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert where.stdout.strip().startswith(str(venv))
