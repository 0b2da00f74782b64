"""`python -m ledger_verifier`: the same as the `ledger-verify` command."""

import sys

from ledger_verifier.cli import main

if __name__ == "__main__":
    sys.exit(main())
