"""The README's run command serves JupyterLab with the course and nbgrader's extensions, and
the real front end works in a real browser (JupyterLab 4 / nbgrader front-end breakage is the
classic failure: jupyter/nbgrader#1866)."""
from __future__ import annotations

import http.client
import json
import os
import re
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
# Screenshots a reviewer can look at (gitignored); CI may point it elsewhere to keep them.
ARTEFACTS = Path(os.environ.get("DLCOURSE_TEST_ARTEFACTS", ROOT / "test-artefacts"))
WELCOME = "notebooks/part0_welcome/00_welcome.ipynb"
NOTIFICATION = "@jupyterlab/apputils-extension:notification"
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


def _listing(base: str, path: str) -> set[str]:
    status, listing = _get(f"{base}/api/contents/{path}?token={TOKEN}")
    assert status == 200, f"{path}: HTTP {status}"
    return {item["name"] for item in json.loads(listing)["content"]}


def test_make_lab_serves_the_course_with_nbgrader(tmp_path):
    # A student who once chose to hear about JupyterLab updates: the course's defaults must not undo it.
    own = tmp_path / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    own.parent.mkdir(parents=True)
    own.write_text('{"checkForUpdates": true}')
    with make_lab(tmp_path) as (base, page):
        assert "@jupyter/nbgrader" in page, "nbgrader's JupyterLab extension is not enabled"
        assert _get(f"{base}/formgrader?token={TOKEN}")[0] == 200, "nbgrader's formgrader server extension is off"
        names = _listing(base, "notebooks")
        assert "part1_foundations" in names, f"the course notebooks are not served: {names}"
        # The course's JupyterLab (.jupyter/): no jupytext twin listed, one entry per chapter.
        for part in ("part0_welcome", "part1_foundations"):
            chapters = {p.name for p in (ROOT / "notebooks" / part).glob("*.ipynb")}
            assert _listing(base, f"notebooks/{part}") == chapters
        status, settings = _get(f"{base}/lab/api/settings/{NOTIFICATION}?token={TOKEN}")
        settings = json.loads(settings)  # what JupyterLab merges: the student's own over the defaults
        composite = {k: v.get("default") for k, v in settings["schema"]["properties"].items()} | settings["settings"]
        assert composite["fetchNews"] == "false", "the news prompt is not switched off"
        assert composite["checkForUpdates"] is True, "the student's own setting lost to the course's default"
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", f"/?token={TOKEN}")
        location = conn.getresponse().getheader("Location") or ""
        assert location.split("?")[0].endswith(f"/lab/tree/{WELCOME}"), f"/ redirects to {location!r}"


def _launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
        "--disable-background-networking", "--disable-component-update"])


needs_chromium = pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true",
                                    reason="needs Debian's chromium (apt-get install chromium); CI installs it")


@needs_chromium
def test_first_start_opens_the_course_in_a_real_browser(tmp_path):
    """What a student sees when `make lab` opens the browser: 00_welcome open, the file browser
    with one entry per chapter (no jupytext twin), no news prompt. The screenshot is kept."""
    assert CHROMIUM, "chromium is missing: .ci/run installs it with apt-get"
    playwright = pytest.importorskip("playwright.sync_api")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / "first_start.png"
    work = tmp_path / "course"  # JupyterLab may save the open notebook: never the repository's
    shutil.copytree(ROOT / "notebooks", work / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    with make_lab(tmp_path, work) as (base, _), playwright.sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(f"{base}/?token={TOKEN}")  # the address `make lab` opens
            page.wait_for_url(re.compile(re.escape(f"/lab/tree/{WELCOME}")), timeout=60_000)
            page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell", timeout=60_000)
            tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
            assert tab.inner_text() == "00_welcome.ipynb"
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-mod-idle", timeout=60_000)
            listing = page.locator(".jp-FileBrowser .jp-DirListing-item .jp-DirListing-itemText")
            page.wait_for_function("document.querySelectorAll('.jp-FileBrowser .jp-DirListing-item').length > 0")
            assert sorted(listing.all_inner_texts()) == ["00_welcome.ipynb"], listing.all_inner_texts()
            page.wait_for_timeout(3_000)  # the news prompt comes as a toast a moment after start
            page.screenshot(path=str(shot))
            toasts = page.locator(".Toastify__toast").all_inner_texts()
            assert not any("news" in t.lower() for t in toasts), f"a news prompt popped up: {toasts}"
            assert "official Jupyter news" not in page.content()
            # Up to notebooks/ and into part 1, as a student would.
            page.locator(".jp-FileBrowser .jp-BreadCrumbs-item[title='notebooks']").click()
            page.locator(".jp-FileBrowser .jp-DirListing-item[title*='part1_foundations']").dblclick()
            chapters = sorted(p.name for p in (ROOT / "notebooks" / "part1_foundations").glob("*.ipynb"))
            page.wait_for_function(
                "n => document.querySelectorAll('.jp-FileBrowser .jp-DirListing-item').length === n "
                "&& [...document.querySelectorAll('.jp-FileBrowser .jp-DirListing-itemText')]"
                ".every(e => e.innerText.includes('_'))", arg=len(chapters), timeout=30_000)
            assert sorted(listing.all_inner_texts()) == chapters
            page.screenshot(path=str(ARTEFACTS / "first_start_part1.png"))
        finally:
            if not shot.exists():
                page.screenshot(path=str(shot))
            browser.close()
    assert not errors, f"JavaScript errors in JupyterLab: {errors}"


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


@needs_chromium
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
        browser = _launch(p)
        try:
            failed, errors = _validate_in_browser(browser, base, f"release/{aid}/{aid}.ipynb", tmp_path / "release.png")
            assert "The following cell failed" in failed and "Task 1.1 tests: relu" in failed, failed[:500]
            assert "NotImplementedError" in failed
            passed, errors2 = _validate_in_browser(browser, base, f"solutions/{aid}/{aid}.ipynb", tmp_path / "solution.png")
            assert "Success! Your notebook passes all the tests." in passed, passed[:500]
        finally:
            browser.close()
    assert not errors + errors2, f"JavaScript errors in JupyterLab: {errors + errors2}"
