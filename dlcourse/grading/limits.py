"""Resource limits for one submission's process: their own module, so that the judge (which
sets them) and the zygote (which applies them in the forked child) do not import each other."""
from __future__ import annotations

import resource
from dataclasses import dataclass

__all__ = ["Limits"]


@dataclass
class Limits:
    """Resource limits for one submission's process (and whatever it starts)."""
    wall_s: float = 600           # the whole submission, start-up included
    cell_s: int | None = None     # per cell; None keeps nbgrader_config.py's Execute.timeout
    memory_gb: float = 4.0        # per process: heap and anonymous mappings (RLIMIT_DATA)
    file_mb: int = 256            # largest file a process may write
    processes: int = 512          # new processes and threads (RLIMIT_NPROC; not applied to root)
    sandbox: bool = True          # run it in dlcourse.grading.sandbox (namespaces), if available

    def apply(self, user_tasks: int = 0) -> None:
        """Set the limits in the child process, before it runs anything. RLIMIT_NPROC counts
        every task of the user, so the allowance goes on top of ``user_tasks`` already running."""
        mem, fsize = int(self.memory_gb * 2**30), self.file_mb * 2**20
        for what, value in ((resource.RLIMIT_DATA, mem), (resource.RLIMIT_FSIZE, fsize),
                            (resource.RLIMIT_NPROC, user_tasks + self.processes), (resource.RLIMIT_CORE, 0)):
            hard = resource.getrlimit(what)[1]
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(what, (value, value))  # hard too: student code cannot raise it
