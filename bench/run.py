"""`make bench`: every load generator, one after another, each printing its own comparison."""

from __future__ import annotations

import subprocess
import sys

SUITES = [
    ["-m", "bench.http_bench", "--workers", "1", "2"],
    ["-m", "bench.bulk_bench"],
    ["-m", "bench.store_bench"],
    ["-m", "bench.smpp_bench", "--messages", "20000"],
]

if __name__ == "__main__":
    for args in SUITES:
        print("==", " ".join(args[1:]), flush=True)
        subprocess.run([sys.executable, *args], check=False)
