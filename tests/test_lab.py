"""The README's run command serves JupyterLab with the course and nbgrader's extensions, and
the real front end works in a real browser (JupyterLab 4 / nbgrader front-end breakage is the
classic failure: jupyter/nbgrader#1866)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "dlcourse-test-token"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(shutil.which("make") is None or not (ROOT / ".venv" / ".installed").exists(),
                                reason="needs make and an installed .venv (make install)")


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


@contextmanager
def make_lab(tmp_path: Path, lab_dir: Path = ROOT):
    """Run the README's `make lab` on a free port; yield its base URL and the /lab page."""
    port = _free_port()
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={TOKEN}"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    proc = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS={args}", f"LAB_DIR={lab_dir}"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, status, page = time.time() + 90, None, ""
        while time.time() < deadline:
            try:
                status, page = _get(f"{base}/lab?token={TOKEN}")
                if status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None:
                pytest.fail("make lab exited early:\n" + proc.stdout.read().decode())
            time.sleep(0.5)
        assert status == 200, "JupyterLab did not answer within 90 s"
        yield base, page
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def test_make_lab_serves_the_course_with_nbgrader(tmp_path):
    with make_lab(tmp_path) as (base, page):
        assert "@jupyter/nbgrader" in page, "nbgrader's JupyterLab extension is not enabled"
        assert _get(f"{base}/formgrader?token={TOKEN}")[0] == 200, "nbgrader's formgrader server extension is off"
        status, listing = _get(f"{base}/api/contents/notebooks?token={TOKEN}")
        assert status == 200
        names = {item["name"] for item in json.loads(listing)["content"]}
        assert "part1_foundations" in names, f"the course notebooks are not served: {names}"


def _validate_in_browser(browser, base: str, path: str, screenshot: Path) -> tuple[str, list[str]]:
    """Open a notebook in JupyterLab, press nbgrader's Validate button, return the dialog text."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # A workspace of its own: JupyterLab would otherwise reopen the previous notebook too, and
    # Validate acts on whichever tab is active.
    workspace = screenshot.stem
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{path}?reset&token={TOKEN}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    # The toolbar button; the widget around it can report "not visible" while the toolbar
    # lays out, so wait for the kernel to be idle and click through the DOM.
    panel = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-NotebookPanel-toolbar"
    button = page.locator(f"{panel} [aria-label='Validate'], {panel} button:has-text('Validate')").first
    button.wait_for(state="attached", timeout=30_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-mod-idle", timeout=60_000)
    try:
        button.click(timeout=10_000)
    except Exception:
        page.screenshot(path=str(screenshot))
        button.dispatch_event("click")
    page.wait_for_selector(".jp-Dialog", timeout=180_000)
    text = page.inner_text(".jp-Dialog")
    page.close()
    return text, errors


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true",
                    reason="needs Debian's chromium (apt-get install chromium); CI installs it")
def test_students_validate_button_works_in_a_real_browser(tmp_path):
    """A student opens the released assignment, presses Validate and sees which test failed;
    the worked solution validates cleanly."""
    assert CHROMIUM, "chromium is missing: .ci/run installs it with apt-get"
    playwright = pytest.importorskip("playwright.sync_api")
    work = tmp_path / "course"  # Validate saves the notebook: work on copies
    aid = "a01_activations_backprop"
    shutil.copytree(ROOT / "release" / aid, work / "release" / aid)
    shutil.copytree(ROOT / "solutions" / aid, work / "solutions" / aid)
    with make_lab(tmp_path, work) as (base, _), playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
            "--disable-background-networking", "--disable-component-update"])
        try:
            failed, errors = _validate_in_browser(browser, base, f"release/{aid}/{aid}.ipynb", tmp_path / "release.png")
            assert "The following cell failed" in failed and "Task 1.1 tests: relu" in failed, failed[:500]
            assert "NotImplementedError" in failed
            passed, errors2 = _validate_in_browser(browser, base, f"solutions/{aid}/{aid}.ipynb", tmp_path / "solution.png")
            assert "Success! Your notebook passes all the tests." in passed, passed[:500]
        finally:
            browser.close()
    assert not errors + errors2, f"JavaScript errors in JupyterLab: {errors + errors2}"
