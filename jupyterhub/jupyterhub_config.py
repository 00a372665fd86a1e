"""JupyterHub for a dlcourse class: `jupyterhub -f jupyterhub/jupyterhub_config.py` (as root).

Every student and instructor is a Unix account (``python jupyterhub/setup_class.py`` creates
them): each single-user server runs as its owner (LocalProcessSpawner), so one student can
never read another's files, and nbgrader's exchange (a folder every account reaches, keyed by
the owner of each submitted file) carries assignments, submissions and feedback between them.

Who is who is decided by two Unix groups: members of ``dlcourse-instructors`` get
nbgrader's Formgrader and assignment-creation tools, members of ``dlcourse-students`` get
only the Assignments tab. Log-in is PAM (the accounts' own passwords) unless
``DLCOURSE_HUB_AUTH`` names another authenticator; see "A class on JupyterHub" in README.md
for swapping in GitHub, LTI or your university's single sign-on.

Settings, all from the environment (the defaults are a production layout):

===============================  ===============================================  =============================
variable                         what                                             default
===============================  ===============================================  =============================
DLCOURSE_HUB_URL                 where students open the hub (the proxy)          http://:8000 (all interfaces)
DLCOURSE_HUB_API_URL             the hub's own API (proxy -> hub; loopback)       http://127.0.0.1:8081
DLCOURSE_HUB_PROXY_API_URL       configurable-http-proxy's REST API (loopback)    http://127.0.0.1:8001
DLCOURSE_HUB_STATE               the hub's database and cookie secret             /srv/jupyterhub
DLCOURSE_EXCHANGE                nbgrader's exchange folder                       /srv/nbgrader/exchange
DLCOURSE_HUB_STUDENT_GROUP       Unix group of the students                       dlcourse-students
DLCOURSE_HUB_INSTRUCTOR_GROUP    Unix group of the instructors                    dlcourse-instructors
DLCOURSE_HUB_AUTH                pam, or shared-password (tests, demos only)      pam
DLCOURSE_HUB_PASSWORD            the shared password (shared-password only)       -
DLCOURSE_HUB_SERVICE_TOKEN       an API token with admin rights for scripts       - (no service)
===============================  ===============================================  =============================

HTTPS: put the hub behind your web server's TLS, or set ``c.JupyterHub.ssl_cert`` and
``ssl_key`` below and use an https:// DLCOURSE_HUB_URL.
"""
import grp
import os
import pwd
import shutil
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (JupyterHub injects get_config)

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent  # the course's venv: the hub runs from it, so do the users
env = os.environ.get

STATE = Path(env("DLCOURSE_HUB_STATE", "/srv/jupyterhub"))
EXCHANGE = env("DLCOURSE_EXCHANGE", "/srv/nbgrader/exchange")
STUDENTS = env("DLCOURSE_HUB_STUDENT_GROUP", "dlcourse-students")
INSTRUCTORS = env("DLCOURSE_HUB_INSTRUCTOR_GROUP", "dlcourse-instructors")


def members(group: str) -> set[str]:
    """The group's accounts: listed members and those whose primary group it is."""
    try:
        g = grp.getgrnam(group)
    except KeyError:
        return set()
    return set(g.gr_mem) | {p.pw_name for p in pwd.getpwall() if p.pw_gid == g.gr_gid}


# ----------------------------------------------------------------------------- network
c.JupyterHub.bind_url = env("DLCOURSE_HUB_URL", "http://:8000")
c.JupyterHub.hub_bind_url = env("DLCOURSE_HUB_API_URL", "http://127.0.0.1:8081")
c.ConfigurableHTTPProxy.api_url = env("DLCOURSE_HUB_PROXY_API_URL", "http://127.0.0.1:8001")
# The proxy is configurable-http-proxy from npm: `make hub-install` puts it in jupyterhub/node_modules.
local_proxy = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
c.ConfigurableHTTPProxy.command = [str(local_proxy) if local_proxy.exists()
                                   else shutil.which("configurable-http-proxy") or "configurable-http-proxy"]
c.ConfigurableHTTPProxy.log_level = "warn"

# ----------------------------------------------------------------------------- state
STATE.mkdir(parents=True, exist_ok=True, mode=0o700)
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user's server

# ----------------------------------------------------------------------------- who logs in
auth = env("DLCOURSE_HUB_AUTH", "pam")
if auth == "pam":
    # The accounts' own Unix passwords; anyone in either group may log in (no hub restart
    # needed to add a student: `python jupyterhub/setup_class.py --students newname`).
    c.JupyterHub.authenticator_class = "pam"
    c.PAMAuthenticator.allowed_groups = {STUDENTS, INSTRUCTORS}
elif auth == "shared-password":
    # One password for every listed account: for tests and demos on a closed machine only
    # (anyone with it can log in as any student).
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = env("DLCOURSE_HUB_PASSWORD")
    c.Authenticator.allowed_users = members(STUDENTS) | members(INSTRUCTORS)
else:
    c.JupyterHub.authenticator_class = auth  # e.g. "github" with oauthenticator; see README

# Scripts (the end-to-end test, a cron job) act through the API with this token.
if env("DLCOURSE_HUB_SERVICE_TOKEN"):
    c.JupyterHub.services = [{"name": "dlcourse-admin", "api_token": env("DLCOURSE_HUB_SERVICE_TOKEN")}]
    c.JupyterHub.load_roles = [{"name": "dlcourse-admin", "services": ["dlcourse-admin"],
                                "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"]}]

# ----------------------------------------------------------------------------- their servers
c.JupyterHub.spawner_class = "localprocess"  # a process per user, as that Unix user, in their home
c.Spawner.cmd = [str(VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 180  # a busy course machine starts JupyterLab slowly
c.Spawner.http_timeout = 180


def role_config(spawner) -> None:
    """Each user's Jupyter reads the course's nbgrader settings (course id, exchange) and the
    settings of their role: students do not get Formgrader or the assignment-creation tools."""
    role = "instructor" if spawner.user.name in members(INSTRUCTORS) else "student"
    extra = {"JUPYTER_CONFIG_PATH": os.pathsep.join([str(HERE / "etc" / role), str(HERE / "etc" / "common")]),
             "DLCOURSE_EXCHANGE": EXCHANGE,
             "PATH": os.pathsep.join([str(VENV_BIN), "/usr/local/bin", "/usr/bin", "/bin"])}
    # The course's read-only data mirror (each user's cache stays in their own home).
    extra.update({k: env(k) for k in ("DLCOURSE_DATA_MIRRORS", "DLCOURSE_OFFLINE", "PYTHONPATH") if env(k)})
    spawner.environment = {**spawner.environment, **extra}


c.Spawner.pre_spawn_hook = role_config
