"""The checks of each nbgrader assignment, one module per assignment (``a<NN>_<name>``); each module's
``CHAPTER`` is the chapter notebook it practises. ``sequence_checks``: what a06-a09 share."""
