"""nbgrader settings every account on the course's JupyterHub reads (students and instructors):
which course, and where the exchange is. The hub puts this folder on JUPYTER_CONFIG_PATH
(jupyterhub_config.py); the instructor's course directory adds its own nbgrader_config.py."""
import os

c = get_config()  # noqa: F821  (nbgrader injects get_config)

c.CourseDirectory.course_id = "dlcourse"
c.Exchange.root = os.environ.get("DLCOURSE_EXCHANGE", "/srv/nbgrader/exchange")
