"""The wheel as a user installs it: built from this checkout, installed in a fresh virtual
environment, and run outside the checkout, where only the packaged default mapping exists.

Dependencies are pinned to `uv.lock` (exported as overrides, which also carry the lock's
certifi override) and come from uv's cache, so the install takes seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "mapping" / "default_mapping.yaml"


def _uv() -> str:
    found = ROOT / ".ci-tools" / "bin" / "uv"
    if found.exists():
        return str(found)
    on_path = shutil.which("uv")
    if on_path is None:
        pytest.fail("uv is needed to build the wheel: run `make install` first")
    return on_path


def _run(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding only the wheel and its locked dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BATON_", "VIRTUAL_ENV"))}
    # Bytecode is compiled on first import instead: compiling every dependency at install
    # time costs more than the few modules the commands load.
    # Hard links from uv's cache (uv copies when they cannot be made): a copy is 190 MB.
    env |= {"UV_COMPILE_BYTECODE": "0", "UV_LINK_MODE": "hardlink", "UV_NO_PROGRESS": "1"}
    uv = _uv()
    _run(uv, "build", "--wheel", "--out-dir", work / "dist", ROOT, cwd=ROOT, env=env)
    pins = work / "pins.txt"
    _run(
        uv,
        "export",
        "--frozen",
        "--no-dev",
        "--no-hashes",
        "--no-emit-project",
        "--format",
        "requirements-txt",
        "--output-file",
        pins,
        "--quiet",
        cwd=ROOT,
        env=env,
    )
    (wheel,) = (work / "dist").glob("baton-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        # The packaged default is the checkout's file itself: there is no second copy.
        assert archive.read("mapping/default_mapping.yaml") == SHIPPED.read_bytes()
        assert not [n for n in archive.namelist() if n.startswith(("tests/", "config/"))]
    venv = work / "venv"
    _run(uv, "venv", "--quiet", "--python", sys.executable, venv, cwd=work, env=env)
    _run(
        uv,
        "pip",
        "install",
        "--quiet",
        "--python",
        venv / "bin" / "python",
        "--override",
        pins,
        wheel,
        cwd=work,
        env=env,
    )
    return venv


def _baton(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BATON_", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE"))
    }
    return _run(venv / "bin" / "baton", *args, cwd=cwd, env=env)


def test_the_installed_wheel_validates_its_packaged_mapping_outside_a_checkout(
    installed: Path, tmp_path: Path
) -> None:
    result = _baton(installed, tmp_path, "mapping", "validate")
    (packaged,) = installed.glob("lib/python3*/site-packages/mapping/default_mapping.yaml")
    assert result.stderr.strip() == f"mapping: {packaged} (packaged default)"
    assert result.stdout.strip() == f"{packaged}: valid"
    assert packaged.read_bytes() == SHIPPED.read_bytes()


def test_the_installed_wheel_prefers_the_working_directory_mapping(
    installed: Path, tmp_path: Path
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "mapping.yaml").write_text(
        SHIPPED.read_text().replace("hubspot: jobtitle", "hubspot: job_title_custom")
    )
    result = _baton(installed, tmp_path, "mapping", "validate")
    assert result.stderr.strip() == "mapping: config/mapping.yaml (working directory)"
    assert result.stdout.strip() == "config/mapping.yaml: valid"
