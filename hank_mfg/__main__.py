import sys

from hank_mfg.cli import main

sys.exit(main())
