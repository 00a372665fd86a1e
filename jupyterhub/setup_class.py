"""Prepare a machine for a dlcourse class on JupyterHub (run as root; standard library only).

    sudo .venv/bin/python jupyterhub/setup_class.py --instructors ada --students alice,bob

creates what ``jupyterhub_config.py`` expects, and can be re-run to add students:

1. the Unix groups ``dlcourse-students`` and ``dlcourse-instructors``, and an account per
   name (home folder private to its owner: mode 700; an existing account is only added to
   the group). Set their passwords with ``passwd`` (PAM log-in) or use your single sign-on;
2. nbgrader's exchange folder (``/srv/nbgrader/exchange``, writable by all, as nbgrader
   requires; nbgrader sets each course's folders' own permissions);
3. each instructor's course directory, ``~/dlcourse``: this checkout's ``nbgrader_config.py``,
   ``source/`` and ``release/`` copied there, owned by the instructor and readable by no one
   else (the gradebook and the hidden tests live there), and ``~/.jupyter/nbgrader_config.py``
   pointing Formgrader at it;
4. with ``--protect``: the checkout's ``source/``, ``solutions/`` and ``.git`` made unreadable to
   other accounts. The students' servers run this checkout's venv, so do this on a class
   machine: otherwise a student can read the hidden tests and the worked solutions there.
"""
from __future__ import annotations

import argparse
import grp
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
NAME_OK = set("abcdefghijklmnopqrstuvwxyz0123456789_-")


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def ensure_group(name: str) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        _run("groupadd", name)


def ensure_user(name: str, group: str, home_base: Path | None) -> pwd.struct_passwd:
    """The account ``name`` in ``group``, with a home of its own (mode 700)."""
    if not name or set(name) - NAME_OK or name[0] in "-_" or len(name) > 32:
        raise SystemExit(f"{name!r} is not a usable account name: lower-case letters, digits, - and _")
    try:
        pwd.getpwnam(name)
    except KeyError:
        cmd = ["useradd", "--create-home", "--shell", "/bin/bash", "-K", "HOME_MODE=0700", "--groups", group]
        if home_base is not None:
            cmd += ["--base-dir", str(home_base)]
        _run(*cmd, name)
    else:
        _run("usermod", "--append", "--groups", group, name)
    user = pwd.getpwnam(name)
    os.chmod(user.pw_dir, 0o700)
    return user


def _chown_tree(path: Path, user: pwd.struct_passwd) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
            os.chown(name, user.pw_uid, user.pw_gid, follow_symlinks=False)


def course_directory(user: pwd.struct_passwd, checkout: Path) -> Path:
    """``~/dlcourse`` for an instructor: the course's nbgrader files, theirs alone."""
    course = Path(user.pw_dir) / "dlcourse"
    course.mkdir(mode=0o700, exist_ok=True)
    shutil.copy2(checkout / "nbgrader_config.py", course / "nbgrader_config.py")
    for folder in ("source", "release"):
        shutil.copytree(checkout / folder, course / folder, dirs_exist_ok=True)
    jupyter = Path(user.pw_dir) / ".jupyter"
    jupyter.mkdir(exist_ok=True)
    (jupyter / "nbgrader_config.py").write_text(
        "# Formgrader and the nbgrader commands find the course wherever they start (setup_class.py).\n"
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(course / 'nbgrader_config.py')!r})  # noqa: F821\n")
    _chown_tree(course, user)
    _chown_tree(jupyter, user)
    os.chmod(course, 0o700)
    return course


def exchange_folder(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o777)  # nbgrader's requirement: every account creates its submissions here


def protect(checkout: Path) -> list[Path]:
    """Make what holds hidden tests and solutions unreadable to other accounts."""
    done = []
    for name in ("source", "solutions", ".git"):
        path = checkout / name
        if path.exists():
            os.chmod(path, path.stat().st_mode & ~0o077)
            done.append(path)
    return done


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2])
    p.add_argument("--students", default="", help="comma-separated account names")
    p.add_argument("--instructors", default="", help="comma-separated account names")
    p.add_argument("--exchange", default=os.environ.get("DLCOURSE_EXCHANGE", "/srv/nbgrader/exchange"))
    p.add_argument("--student-group", default=os.environ.get("DLCOURSE_HUB_STUDENT_GROUP", "dlcourse-students"))
    p.add_argument("--instructor-group", default=os.environ.get("DLCOURSE_HUB_INSTRUCTOR_GROUP", "dlcourse-instructors"))
    p.add_argument("--home-base", type=Path, default=None, help="where new homes go (default: useradd's, /home)")
    p.add_argument("--checkout", type=Path, default=CHECKOUT, help="the course repository (source/, release/)")
    p.add_argument("--protect", action="store_true",
                   help="make the checkout's source/, solutions/ and .git unreadable to other accounts")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        p.error("run as root: it creates accounts (sudo .venv/bin/python jupyterhub/setup_class.py ...)")
    students = [s for s in args.students.split(",") if s]
    instructors = [s for s in args.instructors.split(",") if s]
    ensure_group(args.student_group)
    ensure_group(args.instructor_group)
    exchange_folder(Path(args.exchange))
    for name in students:
        ensure_user(name, args.student_group, args.home_base)
        print(f"student     {name}")
    for name in instructors:
        course = course_directory(ensure_user(name, args.instructor_group, args.home_base), args.checkout)
        print(f"instructor  {name}: course directory {course}")
    print(f"exchange    {args.exchange}")
    if args.protect:
        for path in protect(args.checkout):
            print(f"protected   {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
