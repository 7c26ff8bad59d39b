"""`bench.soak --trace`: put on smsgate's PYTHONPATH, so every one of its processes imports this
at start-up. With PYTHONTRACEMALLOC set (tracemalloc on from the first allocation), SIGUSR2 makes
a process write a snapshot to $SOAK_TRACE_DIR/<pid>-<n>.snap, n counting from 0."""

import itertools
import os
import signal
import tracemalloc

_folder = os.environ.get("SOAK_TRACE_DIR")
_taken = itertools.count()


def _snapshot(_signum: int, _frame: object) -> None:
    if tracemalloc.is_tracing() and _folder:
        path = os.path.join(_folder, f"{os.getpid()}-{next(_taken)}.snap")
        tracemalloc.take_snapshot().dump(path + ".part")
        os.rename(path + ".part", path)  # whole once it has its name


if _folder:
    signal.signal(signal.SIGUSR2, _snapshot)
