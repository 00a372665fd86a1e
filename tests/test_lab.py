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
import shlex
import subprocess
import sys
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

# The tests that go through `make lab` need make and the venv it made; the chapter test runs
# `python -m dlcourse lab` (what `make lab` execs) with the interpreter running the tests.
needs_make = pytest.mark.skipif(shutil.which("make") is None or not (ROOT / ".venv" / ".installed").exists(),
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
def make_lab(tmp_path: Path, lab_dir: Path = ROOT, *, via_make: bool = True, env: dict[str, str] | None = None):
    """Run the README's `make lab` on a free port; yield its base URL and the /lab page.

    via_make=False runs `python -m dlcourse lab` (the README's command without make, and what
    `make lab` execs) with this interpreter instead; env adds variables (the kernel inherits them).
    """
    port = _free_port()
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={TOKEN}"
    env = {**os.environ, **(env or {}), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    cmd = (["make", "-s", "lab", f"LAB_ARGS={args}", f"LAB_DIR={lab_dir}"] if via_make
           else [sys.executable, "-m", "dlcourse", "lab", f"--notebook-dir={lab_dir}", *args.split()])
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True,
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
                pytest.fail(f"{shlex.join(cmd[:3])} exited early:\n" + proc.stdout.read().decode())
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


@needs_make
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


@needs_make
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


@needs_make
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


CHAPTER = "notebooks/part1_foundations/02_perceptron.ipynb"
# Every code cell's prompt in the open notebook: "[ ]:" never run, "[*]:" queued or running, "[7]:" done.
PROMPTS = ("() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell "
           ".jp-InputArea-prompt')].map(e => e.textContent.trim())")
# The status bar's kernel item, e.g. "Python 3 (ipykernel) | Idle": idle only once a kernel is connected.
KERNEL_IDLE = "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(e => /[|] Idle$/.test(e.textContent.trim()))"


def _shot(page, name: str, **kwargs) -> Path:
    """Save a screenshot of the page (or of a locator's element) among the test artefacts."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / name
    (kwargs.pop("element", None) or page).screenshot(path=str(path), **kwargs)
    return path


def _wait(predicate, timeout: float, what: str, interval: float = 0.5):
    """Poll predicate() until it returns something truthy; fail saying what did not happen."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() > deadline:
            assert value, f"{what} within {timeout:.0f} s"
            return value
        time.sleep(interval)


def _saved(path):
    """The notebook at ``path``, or None while JupyterLab is still writing it (an empty or cut file:
    a poll that lands mid-save read '' once)."""
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except (nbformat.reader.NotJSONError, ValueError):
        return None


@needs_chromium
def test_a_chapter_runs_and_its_widget_answers_in_a_real_browser(tmp_path):
    """A student opens chapter 02 (fast mode), runs all its cells from the Run menu, then drags
    a slider of the decision-boundary explorer: every cell ran without an error, and the
    explorer's status line and picture change. Runs on a copy: the committed notebook (saved
    without outputs) is never touched. Screenshots land in test-artefacts/chapter02_*.png."""
    assert CHROMIUM, "chromium is missing: .ci/run installs it with apt-get"
    playwright = pytest.importorskip("playwright.sync_api")
    import nbformat

    for old in ARTEFACTS.glob("chapter02_*.png"):  # a previous run's, failure included
        old.unlink()
    work = tmp_path / "course"
    copy = work / CHAPTER
    copy.parent.mkdir(parents=True)
    shutil.copyfile(ROOT / CHAPTER, copy)  # alone: no jupytext.toml, so saving writes no .py twin
    committed = (ROOT / CHAPTER).read_bytes()
    env = {"DLCOURSE_FAST": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}  # the kernel imports this checkout's dlcourse
    with make_lab(tmp_path, work, via_make=False, env=env) as (base, _), playwright.sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        started, times = time.time(), {}  # seconds since the server answered, printed at the end
        try:
            page.goto(f"{base}/lab/workspaces/chapter/tree/{CHAPTER}?reset&token={TOKEN}")
            page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell", timeout=60_000)
            # The kernel is started and connected (the toolbar's indicator says idle before there is
            # a kernel; Run All then asks which kernel to start).
            page.wait_for_function(KERNEL_IDLE, timeout=120_000)
            times["kernel ready"] = time.time() - started

            # Run > Run All Cells, as a student would.
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-item", has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$"))).click()
            # Done when no cell is queued or running any more; after an error the kernel drops
            # the queue and the cells below it go back to "[ ]".
            def finished():
                dialog = page.locator(".jp-Dialog")
                assert not dialog.count(), f"a dialog interrupted Run All: {dialog.first.inner_text()!r}"
                ps = page.evaluate(PROMPTS)
                return ps if ps and not any("*" in t for t in ps) and any(c.isdigit() for t in ps for c in t) else None
            prompts = _wait(finished, 240, "Run All Cells did not finish", interval=1.0)
            page.wait_for_function(KERNEL_IDLE, timeout=60_000)
            times["all cells ran"] = time.time() - started
            _shot(page, "chapter02_ran.png")

            # Save (Ctrl+S) and read what ran from the copy: no error output, every code cell run.
            page.keyboard.press("Control+s")
            ran = sum(bool(re.search(r"\d", t)) for t in prompts)
            nb = _wait(lambda: (lambda n: n if n and sum(bool(c.execution_count) for c in n.cells
                                                         if c.cell_type == "code") == ran else None)(_saved(copy)),
                       60, "the notebook was not saved")
            failed = [f"[{c.execution_count}] {o.get('ename')}: {o.get('evalue')}" for c in nb.cells
                      if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
            assert not failed, f"cells raised: {failed}"
            assert ran == len(prompts), f"{len(prompts) - ran} of {len(prompts)} code cells did not run: {prompts}"

            # The decision-boundary explorer (perceptron_explorer): its w1 slider, status and picture.
            box = page.locator(".jp-OutputArea-output .widget-vbox", has=page.locator(".widget-image")).first
            box.wait_for(state="visible", timeout=60_000)
            box.scroll_into_view_if_needed()
            slider = box.locator(".widget-hslider", has=page.locator(".widget-label", has_text=re.compile(r"^w1$")))
            readout, status, image = slider.locator(".widget-readout"), box.locator(".widget-html"), box.locator(".widget-image")
            _wait(lambda: image.evaluate("img => img.complete && img.naturalWidth > 0"), 30, "the explorer shows no picture")
            _wait(lambda: readout.inner_text().strip(), 30, "the w1 slider shows no value")  # may render after the box
            before = {"w1": readout.inner_text(), "status": status.inner_text(),
                      "image": _shot(page, "chapter02_widget_before.png", element=image).read_bytes()}
            assert before["w1"] == "1.00" and "line: 1.00·x1" in before["status"], before["status"]
            _shot(page, "chapter02_explorer_before.png", element=box)

            # Drag the w1 handle to the right, as a student would with the mouse.
            handle = slider.locator(".noUi-handle")
            handle.hover()
            x, y = (lambda b: (b["x"] + b["width"] / 2, b["y"] + b["height"] / 2))(handle.bounding_box())
            page.mouse.down()
            page.mouse.move(x + 30, y, steps=5)
            page.mouse.up()
            page.mouse.move(x, y + 200)  # off the slider: no hover styling in the pictures

            w1 = readout.inner_text()
            assert w1 != before["w1"] and float(w1) > 1.0, f"the drag did not move the slider (w1 = {w1})"
            # The kernel recomputes the status line and the PNG from the slider's new value.
            _wait(lambda: f"line: {readout.inner_text()}·x1" in status.inner_text(), 60,
                  f"the explorer's status line did not follow the slider (w1 = {readout.inner_text()}, "
                  f"status: {status.inner_text()!r})")
            _wait(lambda: (lambda png: png if png != before["image"] else None)(
                _shot(page, "chapter02_widget_after.png", element=image).read_bytes()), 60,
                "the explorer's picture did not change after the slider moved")
            assert status.inner_text() != before["status"]
            times["widget updated"] = time.time() - started
            _shot(page, "chapter02_explorer_after.png", element=box)
        except Exception:
            _shot(page, "chapter02_failure.png")
            raise
        finally:
            browser.close()
            print("chapter test, seconds after JupyterLab answered:", {k: round(v, 1) for k, v in times.items()})
    assert (ROOT / CHAPTER).read_bytes() == committed, "the committed notebook was modified"
    assert not errors, f"JavaScript errors in JupyterLab: {errors}"
