"""`python -m sockspec` is the `sockspec` command."""

import sys

from sockspec.cli import main

sys.exit(main())
