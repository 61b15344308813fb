"""`python -m hub`: see hub/cli.py."""

import sys

from .cli import main

sys.exit(main())
