"""The README's run command serves JupyterLab with the course and nbgrader's extensions."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""


@pytest.mark.skipif(shutil.which("make") is None or not (ROOT / ".venv" / ".installed").exists(),
                    reason="needs make and an installed .venv (make install)")
def test_make_lab_serves_the_course_with_nbgrader(tmp_path):
    port, token = _free_port(), "dlcourse-test-token"
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token} --ServerApp.open_browser=False"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")}
    proc = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS={args}"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        status = None
        while time.time() < deadline:
            try:
                status, page = _get(f"{base}/lab?token={token}")
                if status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None:
                pytest.fail("make lab exited early:\n" + proc.stdout.read().decode())
            time.sleep(0.5)
        assert status == 200, "JupyterLab did not answer within 90 s"
        assert "@jupyter/nbgrader" in page, "nbgrader's JupyterLab extension is not enabled"
        assert _get(f"{base}/formgrader?token={token}")[0] == 200, "nbgrader's formgrader server extension is off"
        status, listing = _get(f"{base}/api/contents/notebooks?token={token}")
        assert status == 200
        names = {item["name"] for item in json.loads(listing)["content"]}
        assert "part1_foundations" in names, f"the course notebooks are not served: {names}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
