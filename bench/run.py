"""`make bench`: bench/lifecycle.py, every row of issue 18's tables beside its baseline.

    python -m bench.run [the options of python -m bench.lifecycle]

Each bench in bench/ also runs alone (`python -m bench.NAME --help`).
"""

from __future__ import annotations

from bench.lifecycle import main

if __name__ == "__main__":
    main()
