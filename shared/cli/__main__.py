"""``python -m shared.cli``: the same as the ``aks-compliance`` command."""

import sys

from shared.cli import main

sys.exit(main())
