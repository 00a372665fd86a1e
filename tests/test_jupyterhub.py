"""A class on JupyterHub, end to end, on loopback (README "A class on JupyterHub").

The configuration in ``jupyterhub/`` is run as a class would run it: JupyterHub with
configurable-http-proxy (npm), a Unix account and a single-user server per person
(LocalProcessSpawner), nbgrader's exchange between them. Two students and an instructor log
in through the hub; the instructor releases ``a01`` from their own course directory; each
student fetches it, saves their answers and submits through nbgrader's Assignments API on
their own server (what the Assignments tab calls); the instructor collects, grades with the
hardened autograder, generates and releases feedback, exports grades; each student fetches
their feedback and sees their own score, and only theirs.

Needs root (it creates throwaway Unix accounts and groups, removed afterwards), jupyterhub
(``pip install -e '.[hub]'``) and configurable-http-proxy (``make hub-install``); outside CI it
is skipped with the reason when one is missing, in CI it fails.
"""
from __future__ import annotations

import csv
import grp
import http.cookiejar
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from dlcourse.grading.course import notebook_path, partial_submission, task_points

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / "jupyterhub"
AID = "a01_activations_backprop"
CI = os.environ.get("CI") == "true"
PROXY = HUB / "node_modules" / ".bin" / "configurable-http-proxy"
PROXY = str(PROXY) if PROXY.exists() else shutil.which("configurable-http-proxy")


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root: it creates Unix accounts for two students and an instructor (CI runs as root)"
    if not all(shutil.which(t) for t in ("useradd", "userdel", "groupadd", "groupdel")):
        return "needs useradd/userdel/groupadd/groupdel (the passwd package)"
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        return "needs jupyterhub: pip install -c constraints.txt -e '.[hub]' (make hub-install)"
    if PROXY is None:
        return "needs configurable-http-proxy from npm: make hub-install"
    return None


MISSING = _missing()


# ----------------------------------------------------------------------------- helpers
def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Client:
    """One person's browser or script: cookies, an API token, no redirects followed."""

    def __init__(self, base: str, token: str | None = None):
        self.base, self.token = base, token
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def request(self, method: str, path: str, data=None, form: dict | None = None, timeout: float = 60,
                headers: dict | None = None) -> tuple[int, str]:
        headers = dict(headers or {})
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif data is not None:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def json(self, method: str, path: str, **kw):
        status, text = self.request(method, path, **kw)
        assert 200 <= status < 300, f"{method} {path}: HTTP {status}: {text[:500]}"
        return json.loads(text) if text.strip() else None


def _wait(what: str, check, timeout: float, hub: subprocess.Popen, log: Path, every: float = 0.5):
    """Poll ``check()`` until it returns something truthy, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except OSError:
            value = None
        if value:
            return value
        if hub.poll() is not None:
            pytest.fail(f"the hub exited while waiting for {what}:\n{log.read_text()[-4000:]}")
        time.sleep(every)
    pytest.fail(f"{what}: not within {timeout:.0f} s\n{log.read_text()[-4000:]}")


def _processes_of(uids: set[int]) -> list[int]:
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if proc.stat().st_uid in uids:
                pids.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return pids


def _kill_user_processes(uids: set[int], timeout: float = 15) -> None:
    """SIGKILL what the test's accounts still run (by pid: those processes were started here),
    and wait until they are gone: userdel refuses an account that still runs something."""
    deadline = time.monotonic() + timeout
    while (pids := _processes_of(uids)) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.2)


def _stop(hub: subprocess.Popen | None) -> None:
    """Stop the hub, which stops every user's server (cleanup_servers) and the proxy."""
    if hub is None or hub.poll() is not None:
        return
    os.killpg(hub.pid, signal.SIGTERM)
    try:
        hub.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(hub.pid, signal.SIGKILL)
        hub.wait(timeout=10)


@contextmanager
def throwaway_class(base: Path, suffix: str, first: list):
    """Two students and an instructor as Unix accounts (jupyterhub/setup_class.py), removed after
    the callables in ``first`` (stopping what runs as them) have run."""
    names = {"students": [f"dlc{suffix}s1", f"dlc{suffix}s2"], "instructor": f"dlc{suffix}i"}
    groups = {"students": f"dlc{suffix}-students", "instructors": f"dlc{suffix}-instructors"}
    users = names["students"] + [names["instructor"]]
    try:
        done = subprocess.run(
            [sys.executable, str(HUB / "setup_class.py"), "--students", ",".join(names["students"]),
             "--instructors", names["instructor"], "--exchange", str(base / "exchange"),
             "--student-group", groups["students"], "--instructor-group", groups["instructors"],
             "--home-base", str(base / "home")], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"setup_class.py failed:\n{done.stdout}\n{done.stderr}"
        yield names, groups
    finally:
        for stop in first:
            stop()
        uids = set()
        for name in users:
            try:
                uids.add(pwd.getpwnam(name).pw_uid)
            except KeyError:
                pass
        _kill_user_processes(uids)
        for name in users:
            if name in {p.pw_name for p in pwd.getpwall()}:
                if subprocess.run(["userdel", "--remove", name], capture_output=True, timeout=60).returncode:
                    subprocess.run(["userdel", "--force", "--remove", name], capture_output=True, timeout=60)
        for g in groups.values():
            try:
                grp.getgrnam(g)
                subprocess.run(["groupdel", g], capture_output=True, timeout=60)
            except KeyError:
                pass


def _user_env(name: str, role: str, exchange: Path) -> dict[str, str]:
    """What a terminal in this user's JupyterLab on the hub has (jupyterhub_config.role_config)."""
    user = pwd.getpwnam(name)
    env = {"HOME": user.pw_dir, "USER": name, "LOGNAME": name, "SHELL": "/bin/bash", "LANG": "C.UTF-8",
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
           "JUPYTER_CONFIG_PATH": os.pathsep.join([str(HUB / "etc" / role), str(HUB / "etc" / "common")]),
           "DLCOURSE_EXCHANGE": str(exchange), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.update({k: os.environ[k] for k in ("DLCOURSE_DATA_MIRRORS", "DLCOURSE_OFFLINE") if k in os.environ})
    return env


def _as_user(name: str, role: str, exchange: Path, cmd: list[str], cwd: Path, hub_pid: int | None = None,
             timeout: float = 300):
    """Run ``cmd`` as that account with its terminal's environment (in the hub's mount namespace)."""
    user = pwd.getpwnam(name)
    enter = ["nsenter", f"--mount=/proc/{hub_pid}/ns/mnt", f"--wd={cwd}", "--"] if hub_pid else []
    switch = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", "--"]
    return subprocess.run([*enter, *switch, *cmd], cwd=cwd, env=_user_env(name, role, exchange),
                          capture_output=True, text=True, timeout=timeout)


def _unreachable(path: Path) -> Path | None:
    """The outermost folder above ``path`` that other accounts cannot traverse, if any."""
    for parent in [*reversed(path.parents), path]:
        if parent != Path("/") and not parent.stat().st_mode & 0o001:
            return parent
    return None


def _hub_launcher(base: Path, needed: list[Path]) -> list[str]:
    """A prefix that starts the hub where every account can run the course's Python.

    A class machine installs the course where every account can read it (README). A CI box
    may have its interpreter in root's private home (pyenv in /root): then the hub, and so every
    server it starts, runs in a private mount namespace in which that home is a fresh 0755
    tmpfs showing only the interpreter (and the checkout) at their own paths, read-only. Nothing
    changes on the host, and the namespace ends with the hub."""
    blocked = sorted({b for p in needed if (b := _unreachable(p)) is not None})
    if not blocked:
        return []
    script = []
    for i, b in enumerate(blocked):
        real = base / f"hidden{i}"
        real.mkdir()
        script += [f"mount --bind '{b}' '{real}'", f"mount -t tmpfs -o mode=755,size=1m tmpfs '{b}'"]
        for p in needed:
            if b in p.parents or p == b:
                inside = real / p.relative_to(b)
                script += [f"mkdir -p '{p}'", f"mount --bind '{inside}' '{p}'", f"mount -o remount,bind,ro '{p}'"]
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-ec", " && ".join(script) + ' && exec "$@"', "sh"]


def _feedback_score(html: str) -> tuple[float, float]:
    m = re.search(rf"{AID} \(Score: ([\d.]+) / ([\d.]+)\)", html)
    assert m, "no total score in the feedback page"
    return float(m.group(1)), float(m.group(2))


# ----------------------------------------------------------------------------- without a hub
def _load_hub_config(monkeypatch, **env):
    from traitlets.config.loader import PyFileConfigLoader

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return PyFileConfigLoader("jupyterhub_config.py", path=str(HUB)).load_config()


def test_hub_config_gives_each_role_its_settings(monkeypatch, tmp_path):
    """Servers run as their owners; students get the student settings, instructors theirs; the
    global nbgrader config names the course and the exchange."""
    me = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(pwd.getpwuid(os.getuid()).pw_gid).gr_name
    config = _load_hub_config(monkeypatch, DLCOURSE_HUB_STATE=str(tmp_path / "state"), DLCOURSE_EXCHANGE="/x/exchange",
                              DLCOURSE_HUB_INSTRUCTOR_GROUP=group)
    assert config.JupyterHub.spawner_class == "localprocess" and config.JupyterHub.authenticator_class == "pam"
    assert config.PAMAuthenticator.allowed_groups == {"dlcourse-students", group}

    class Spawner:  # what the hook reads and sets
        def __init__(self, name):
            self.user, self.environment = type("User", (), {"name": name})(), {}

    for name, role in ((me, "instructor"), ("someone-else", "student")):
        spawner = Spawner(name)
        config.Spawner.pre_spawn_hook(spawner)
        paths = spawner.environment["JUPYTER_CONFIG_PATH"].split(os.pathsep)
        assert paths == [str(HUB / "etc" / role), str(HUB / "etc" / "common")] and all(Path(p).is_dir() for p in paths)
        assert spawner.environment["DLCOURSE_EXCHANGE"] == "/x/exchange"
    from traitlets.config.loader import PyFileConfigLoader
    monkeypatch.setenv("DLCOURSE_EXCHANGE", "/x/exchange")
    nbgrader = PyFileConfigLoader("nbgrader_config.py", path=str(HUB / "etc" / "common")).load_config()
    assert nbgrader.CourseDirectory.course_id == "dlcourse" and nbgrader.Exchange.root == "/x/exchange"
    student = json.loads((HUB / "etc" / "student" / "jupyter_server_config.json").read_text())
    assert student["ServerApp"]["jpserver_extensions"] == {"nbgrader.server_extensions.formgrader": False}


def test_hub_config_shared_password_lists_the_class_only(monkeypatch, tmp_path):
    group = grp.getgrgid(os.getgid()).gr_name
    config = _load_hub_config(monkeypatch, DLCOURSE_HUB_STATE=str(tmp_path), DLCOURSE_HUB_AUTH="shared-password",
                              DLCOURSE_HUB_PASSWORD="a-long-password", DLCOURSE_HUB_STUDENT_GROUP=group)
    assert config.JupyterHub.authenticator_class == "shared-password"
    g = grp.getgrnam(group)
    assert config.Authenticator.allowed_users == set(g.gr_mem) | {p.pw_name for p in pwd.getpwall() if p.pw_gid == g.gr_gid}


def test_setup_class_protect_hides_what_students_must_not_read(tmp_path):
    sys.path.insert(0, str(HUB))
    try:
        import setup_class
    finally:
        sys.path.remove(str(HUB))
    for name in ("source", "solutions", ".git", "release"):
        (tmp_path / name).mkdir(mode=0o755)
    assert sorted(p.name for p in setup_class.protect(tmp_path)) == [".git", "solutions", "source"]
    assert all((tmp_path / n).stat().st_mode & 0o077 == 0 for n in ("source", "solutions", ".git"))
    assert (tmp_path / "release").stat().st_mode & 0o005 == 0o005, "students need the release"
    with pytest.raises(SystemExit, match="not a usable account name"):
        setup_class.ensure_user("../root", "g", None)


# ----------------------------------------------------------------------------- the round trip
@pytest.mark.hub
@pytest.mark.skipif(MISSING is not None and not CI, reason=str(MISSING))
def test_a_class_on_jupyterhub_round_trip(tmp_path):
    assert MISSING is None, MISSING
    if ROOT.stat().st_mode & 0o005 != 0o005:
        pytest.fail(f"{ROOT} must be readable by other accounts: the students' servers run its venv and config")
    started = time.monotonic()
    last = [started]

    def phase(what: str) -> None:
        now = time.monotonic()
        print(f"  {now - last[0]:5.1f} s  {what}", flush=True)
        last[0] = now

    base = Path(tempfile.mkdtemp(prefix="dlcourse-hub-", dir="/tmp"))
    os.chmod(base, 0o755)  # the accounts' homes and the exchange live here
    (base / "home").mkdir(mode=0o755)
    hub, stops = None, []
    try:
        with throwaway_class(base, secrets.token_hex(3), stops) as (names, groups):
            s1, s2 = names["students"]
            instructor = names["instructor"]
            exchange = base / "exchange"
            course = Path(pwd.getpwnam(instructor).pw_dir) / "dlcourse"

            # -- the hub and its proxy, on loopback ports of their own
            port, hub_port, proxy_port = _free_ports(3)
            password = secrets.token_urlsafe(12)
            log = base / "jupyterhub.log"
            env = {**os.environ, "DLCOURSE_HUB_URL": f"http://127.0.0.1:{port}",
                   "DLCOURSE_HUB_API_URL": f"http://127.0.0.1:{hub_port}",
                   "DLCOURSE_HUB_PROXY_API_URL": f"http://127.0.0.1:{proxy_port}",
                   "DLCOURSE_HUB_STATE": str(base / "state"), "DLCOURSE_EXCHANGE": str(exchange),
                   "DLCOURSE_HUB_STUDENT_GROUP": groups["students"],
                   "DLCOURSE_HUB_INSTRUCTOR_GROUP": groups["instructors"],
                   "DLCOURSE_HUB_AUTH": "shared-password", "DLCOURSE_HUB_PASSWORD": password,
                   "PYTHONPATH": str(ROOT),
                   "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
            with open(log, "w") as out:
                needed = [Path(sys.base_prefix).resolve(), Path(sys.prefix), ROOT]
                command = [sys.executable, "-m", "jupyterhub", "-f", str(HUB / "jupyterhub_config.py")]
                hub = subprocess.Popen([*_hub_launcher(base, needed), *command], cwd=base, env=env, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
            stops.append(lambda: _stop(hub))
            ns = hub.pid if hub.args[0] == "unshare" else None
            url = f"http://127.0.0.1:{port}"
            _wait("the hub's API through the proxy", lambda: Client(url).request("GET", "/hub/api/", timeout=5)[0] == 200,
                  90, hub, log)

            phase("accounts, hub and proxy up")

            # -- everyone logs in with the password (a wrong one is refused) and takes an API token
            def log_in(name: str, pw: str) -> Client:
                c = Client(url)
                c.request("GET", "/hub/login")
                status, _ = c.request("POST", "/hub/login", form={"username": name, "password": pw,
                                                                   "_xsrf": c.cookie("_xsrf") or ""})
                if status != 302:
                    return c
                c.request("GET", "/hub/home")  # the session's xsrf cookie
                reply = c.json("POST", f"/hub/api/users/{name}/tokens", data={"note": "dlcourse test", "expires_in": 3600},
                               headers={"X-XSRFToken": c.cookie("_xsrf") or "", "Referer": url + "/hub/home"})
                c.token = reply["token"]
                return c

            assert log_in(s1, "not-the-password").token is None, "a wrong password logged in"
            people = {name: log_in(name, password) for name in (s1, s2, instructor)}
            for name, c in people.items():
                assert c.token, f"{name} could not log in"
                assert c.json("GET", "/hub/api/user")["name"] == name
            assert log_in("intruder", password).token is None, "an account outside the class logged in"

            # -- each starts their server (a process as their Unix user)
            for name, c in people.items():
                status, text = c.request("POST", f"/hub/api/users/{name}/server")
                assert status in (201, 202), f"{name}'s server: HTTP {status}: {text[:300]}\n{log.read_text()[-4000:]}"
            for name, c in people.items():
                _wait(f"{name}'s server", lambda: c.json("GET", f"/hub/api/users/{name}")["servers"].get("", {}).get("ready"),
                      180, hub, log, every=1)
            phase("log-ins, three servers started")
            assert people[s1].request("GET", f"/user/{s2}/api/contents")[0] == 403, "a student reached another's server"
            # Formgrader is the instructor's (and finds their course directory), not the students'
            listed = people[instructor].json("GET", f"/user/{instructor}/formgrader/api/assignments")
            assert AID in [a["name"] for a in listed], listed
            assert people[s1].request("GET", f"/user/{s1}/formgrader/api/assignments")[0] == 404, "a student has Formgrader"
            for name, hidden in ((s1, True), (instructor, False)):  # and JupyterLab shows them no Formgrader menu
                status, page = people[name].request("GET", f"/user/{name}/lab")
                config = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
                assert status == 200 and config, f"{name}'s JupyterLab page: HTTP {status}"
                disabled = json.loads(config.group(1)).get("disabledExtensions", [])
                assert ("@jupyter/nbgrader:formgrader" in disabled) == hidden, (name, disabled)

            def instructor_runs(*cmd: str):
                # the autograder's own limit is 600 s per submission; a busy CI box needs ~2 min here
                return _as_user(instructor, "instructor", exchange, list(cmd), cwd=course, hub_pid=ns, timeout=600)

            # -- the instructor releases a01 to the exchange
            done = instructor_runs("nbgrader", "release_assignment", AID)
            assert done.returncode == 0, done.stdout + done.stderr

            # -- each student fetches it, answers (saved through Jupyter) and submits
            source_nb, release_nb = notebook_path("source", AID, ROOT), notebook_path("release", AID, ROOT)
            points = task_points(source_nb)
            tasks = sorted(k for k in points if k is not None)
            partial = tasks[::2]
            expected = {s1: (sum(points.values()), sum(points.values())),
                        s2: (sum(points[k] for k in partial), sum(points.values()))}
            answers = {s1: partial_submission(source_nb, release_nb, tasks),
                       s2: partial_submission(source_nb, release_nb, partial)}
            for s in (s1, s2):
                c, api = people[s], f"/user/{s}/assignments"
                listed = c.json("GET", f"{api}?course_id=dlcourse")
                assert listed["success"], listed
                assert [(a["assignment_id"], a["status"]) for a in listed["value"]] == [(AID, "released")], listed
                fetched = c.json("POST", f"{api}/fetch", form={"course_id": "dlcourse", "assignment_id": AID})
                assert [a["status"] for a in fetched["value"]] == ["fetched"], fetched
                path = f"/user/{s}/api/contents/{AID}/{AID}.ipynb"
                assert c.json("GET", path)["content"]["cells"], "the fetched notebook is empty"
                c.json("PUT", path, data={"type": "notebook", "format": "json", "content": answers[s]})
                submitted = c.json("POST", f"{api}/submit", form={"course_id": "dlcourse", "assignment_id": AID})
                assert "submitted" in [a["status"] for a in submitted["value"]], submitted

            phase("release; students fetch, answer, submit")
            # -- the instructor collects, grades with the hardened grader, returns feedback, exports
            for cmd in (["nbgrader", "collect", AID],
                        ["python", "-m", "dlcourse.grading.autograder", AID, "--root", str(course), "--jobs", "2"],
                        ["nbgrader", "generate_feedback", AID],
                        ["nbgrader", "release_feedback", AID],
                        ["nbgrader", "export"]):
                done = instructor_runs(*cmd)
                phase(" ".join(cmd[:4]))
                assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            with open(course / "grades.csv") as f:
                grades = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)}
            assert grades == {s: e[0] for s, e in expected.items()}, grades
            with open(course / "autograded" / f"status_{AID}.csv") as f:
                assert {row["student"]: row["status"] for row in csv.DictReader(f)} == {s1: "graded", s2: "graded"}

            # -- each student fetches their feedback and sees their own score, and only theirs
            for s in (s1, s2):
                c = people[s]
                c.json("POST", f"/user/{s}/assignments/fetch_feedback", form={"course_id": "dlcourse", "assignment_id": AID})
                folders = c.json("GET", f"/user/{s}/api/contents/{AID}/feedback")["content"]
                assert len(folders) == 1, folders
                quote = urllib.parse.quote
                pages = c.json("GET", f"/user/{s}/api/contents/{quote(folders[0]['path'])}")["content"]
                assert [p["name"] for p in pages] == [f"{AID}.html"], pages
                html = c.json("GET", f"/user/{s}/api/contents/{quote(pages[0]['path'])}")["content"]
                assert _feedback_score(html) == expected[s], (s, _feedback_score(html), expected[s])
                assert "BEGIN HIDDEN TESTS" not in html
            other = {s1: s2, s2: s1}
            for s in (s1, s2):  # nothing of the other student's is readable by this account
                for target in (Path(pwd.getpwnam(other[s]).pw_dir) / AID, exchange / "dlcourse" / "feedback", course):
                    done = _as_user(s, "student", exchange, ["ls", str(target)], cwd=Path("/"), hub_pid=ns)
                    assert done.returncode != 0, f"{s} can list {target}: {done.stdout}"
            phase("students fetch feedback; isolation checked")
            print(f"JupyterHub round trip: {time.monotonic() - started:.0f} s")
    finally:
        _stop(hub)
        if (base / "jupyterhub.log").exists():  # kept for a failure's post-mortem
            shutil.copy(base / "jupyterhub.log", tmp_path / "jupyterhub.log")
        shutil.rmtree(base, ignore_errors=True)
