"""``python -m sweeps.cli`` == ``tasim``."""

import sys

from sweeps.cli import main

sys.exit(main())
