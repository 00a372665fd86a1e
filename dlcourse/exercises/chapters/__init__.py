"""The checks of each chapter's in-notebook exercises, one module per chapter (``ch<NN>_<name>``)."""
