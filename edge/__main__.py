"""`python -m edge` is the `wartezone` command."""

import sys

from edge.cli import main

sys.exit(main())
