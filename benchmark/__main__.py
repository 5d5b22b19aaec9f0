"""``python -m benchmark``: argparse only; each sub-command calls one library function."""

import sys

from benchmark.cli import main

if __name__ == "__main__":
    sys.exit(main())
