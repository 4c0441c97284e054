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
