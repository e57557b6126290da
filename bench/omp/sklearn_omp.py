#!/usr/bin/python3
"""sklearn's SparseCoder(transform_algorithm='omp', transform_n_nonzero_coefs=m) on D.npy (atoms) and X.npy
(signals), as the paper's code calls it: prints a JSON line with the times and the peak RSS; writes the dense
codes (N×K, the dtype of the inputs) to OUT.npy.

    /usr/bin/python3 bench/omp/sklearn_omp.py D.npy X.npy M OUT.npy
"""
import json
import resource
import sys
import time
import warnings

import numpy as np
from sklearn.decomposition import SparseCoder


def main():
    D = np.load(sys.argv[1])
    X = np.load(sys.argv[2])
    m = int(sys.argv[3])
    t = time.perf_counter()
    G = D @ D.T  # what sparse_encode computes first (timed apart for the projection)
    gram = time.perf_counter() - t
    del G
    t = time.perf_counter()
    cov = D @ X.T
    correlations = time.perf_counter() - t
    del cov
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        t = time.perf_counter()
        codes = SparseCoder(dictionary=D, transform_algorithm="omp", transform_n_nonzero_coefs=m).transform(X)
        total = time.perf_counter() - t
    np.save(sys.argv[4], np.ascontiguousarray(codes))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"transform_s": total, "gram_s": gram, "correlations_s": correlations, "peak_rss_bytes": peak,
                      "dtype": str(D.dtype), "N": X.shape[0], "K": D.shape[0], "d": D.shape[1]}))


if __name__ == "__main__":
    main()
