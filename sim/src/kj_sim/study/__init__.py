"""The offline dispatch-policy study (`make study`): a discrete-event simulation of days."""

import os

# one BLAS thread per process: the planner's matrix-vector products are small, and a
# multi-threaded BLAS on a shared 2-core machine spends more time waiting than computing
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
