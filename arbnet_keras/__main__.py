"""`python -m arbnet_keras`: the `arbnet` command line."""

import sys

from arbnet_keras.cli import main

if __name__ == "__main__":
    sys.exit(main())
