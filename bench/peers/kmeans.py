"""scikit-learn's k-means on the points bench/cluster.ts wrote (float32, n x dim, row-major),
single-threaded, timed around fit only. Prints one JSON line per method: seconds, inertia
(sum of squared distances of every point to its nearest centroid) and rounds."""
import json
import sys
import time

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from threadpoolctl import threadpool_limits

path, n, dim, k, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
methods = sys.argv[6].split(",")
X = np.fromfile(path, dtype=np.float32).reshape(n, dim)
with threadpool_limits(limits=1):
    for name in methods:
        if name == "minibatch":
            # The defaults (batch_size 1024, early stopping on no improvement), one init as RALM's.
            model = MiniBatchKMeans(n_clusters=k, n_init=1, random_state=seed)
        else:
            model = KMeans(n_clusters=k, n_init=1, algorithm="lloyd", random_state=seed)
        t0 = time.perf_counter()
        model.fit(X)
        seconds = time.perf_counter() - t0
        # Inertia over every point for both (MiniBatchKMeans' own is over its last batches).
        d = ((X ** 2).sum(1, dtype=np.float64)[:, None] - 2 * (X @ model.cluster_centers_.T) + (model.cluster_centers_ ** 2).sum(1)[None, :]).min(1)
        print(json.dumps({"method": name, "seconds": seconds, "inertia": float(np.maximum(d, 0).sum()), "rounds": int(model.n_iter_), "sklearn": __import__("sklearn").__version__}), flush=True)
