import sys

from mlgitops.cli import main

sys.exit(main())
