"""``python -m benchmarks``: run the suite, print the table, write the JSON."""

import sys

from benchmarks.run import main

sys.exit(main())
