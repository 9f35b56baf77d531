import sys

from kj_sim.chaos.run import main

sys.exit(main())
