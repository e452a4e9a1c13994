"""`python -m mlgitops` and the `mlgitops` console script: Ctrl-C (or SIGTERM, SIGHUP) at any moment, even
while the heavy modules are still being imported, exits 130 (143, 129) without a traceback."""

from __future__ import annotations

import sys

from mlgitops.report import interrupts


def entry() -> int:
    with interrupts.handled():
        try:
            if sys.argv[1:] == ["--version"]:  # without the CLI's imports (~0.5 s)
                from mlgitops.commands import about

                print(about.text())
                return 0
            from mlgitops.cli import main

            return main()
        except KeyboardInterrupt:
            print("mlgitops: interrupted", file=sys.stderr)
            return interrupts.exit_code()


if __name__ == "__main__":
    sys.exit(entry())
