"""`python -m gepad.daemon`: run the daemon in the foreground."""

import sys

from gepad.daemon import main

if __name__ == "__main__":
    sys.exit(main())
