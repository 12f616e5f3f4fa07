import sys

from relnet.cli import main

sys.exit(main())
