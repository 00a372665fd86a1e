"""nbgrader settings: the repository root is the course directory (COURSE.md section 2)."""
import os

c = get_config()  # noqa: F821  (nbgrader injects get_config)

c.CourseDirectory.course_id = "dlcourse"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")

# The solution stub students see, in the style of minitorch and CS231n.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Tests call student code on tiny seeded inputs, so a cell that runs for minutes is a bug
# (an infinite loop, or full training left in a graded cell): stop it.
c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# source/<id>/<id>.py is the jupytext twin of the source notebook (solutions and hidden tests):
# nbgrader copies every other file of source/<id> to release/ and into the students' autograde
# folders, so it must be ignored.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "a[0-9][0-9]_*.py"]

# Autograding as nbgrader does it, plus a cap on each output's length: LimitOutput counts lines,
# so one 50 MB line would reach the autograded notebook and the feedback whole. Grade untrusted
# submissions with `python -m dlcourse.grading.autograder <id>` (limits, tamper checks, a status each).
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "dlcourse.grading.autograder.CapOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
