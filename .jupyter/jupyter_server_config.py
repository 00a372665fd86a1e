"""The course's JupyterLab. `make lab` and `python -m dlcourse lab` (dlcourse/lab.py) put this folder
on JUPYTER_CONFIG_PATH. Jupyter ranks that path above the student's own folder (~/.jupyter), so
this file sets only what the course needs (the contents manager, the opening page) and
JUPYTER_CONFIG_DIR is left alone: a student's other server options, their JupyterLab settings
(Settings menu, ~/.jupyter/lab/user-settings, which override the defaults below) and workspaces
keep working. The command line wins over both: make lab LAB_ARGS=--LabApp.default_url=/lab.

labconfig/default_setting_overrides.json changes two defaults of JupyterLab's notification
settings: no "get notified about official Jupyter news?" prompt (fetchNews "false") and no
"a newer JupyterLab is available" notice (checkForUpdates false: constraints.txt pins the
version the course is tested with).
"""
c = get_config()  # noqa: F821  (Jupyter injects get_config)

# The jupytext .py twins of the chapter notebooks (notebooks/<part>/NN_name.py) and of the source
# assignments (source/<id>/<id>.py) are for authors' diffs, never for students to open: a .py file
# beside a notebook of the same name is left out of directory listings. Not a hide_globs pattern:
# names cannot tell a twin from a script such as solutions/chapters/01_tensors_autograd.py. Only
# listings change: the twin can still be opened by its path, and the jupytext extension (which
# wraps this class) still pairs it (notebooks/jupytext.toml), so a notebook saved in JupyterLab
# rewrites its twin. tests/test_setup.py checks every folder of the repository.
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager


class CourseContentsManager(AsyncLargeFileManager):
    """Jupyter's default contents manager, minus the .py twins of notebooks in listings."""

    async def get(self, path, content=True, type=None, format=None, **kwargs):  # noqa: A002
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        if model["type"] == "directory" and model.get("content"):
            notebooks = {item["name"] for item in model["content"] if item["name"].endswith(".ipynb")}
            model["content"] = [item for item in model["content"]
                                if not (item["name"].endswith(".py") and item["name"][:-3] + ".ipynb" in notebooks)]
        return model


c.ServerApp.contents_manager_class = CourseContentsManager

# `make lab` opens the course on its first chapter (the redirect from / and the browser it starts).
c.LabApp.default_url = "/lab/tree/notebooks/part0_welcome/00_welcome.ipynb"
