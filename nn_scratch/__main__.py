"""``python -m nn_scratch [demo] [options]`` -- the same as the ``nn-scratch`` command."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
