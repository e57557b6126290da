#!/usr/bin/python3
"""Why one signal's OMP support differs between clip-nad and sklearn in a bench/omp run: replays the pursuit in
float64 and prints, at each step where one of the two best atoms is in only one of the two supports, the two
best correlations with the residual and their relative gap. Run from the repository root after `run.ts`:

    /usr/bin/python3 bench/omp/why_support_differs.py SIGNAL [M]
"""
import glob
import sys

import numpy as np
import scipy.sparse as sp

OUT = "bench/out/omp"


def main():
    r = int(sys.argv[1])
    m = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    D = np.load(glob.glob(f"{OUT}/D_*.npy")[0]).astype(np.float64)
    X = np.load(glob.glob(f"{OUT}/X_*.npy")[0])
    dense = np.load(f"{OUT}/sklearn_codes.npy", mmap_mode="r")
    z = np.load(f"{OUT}/ours.npz")
    ours_codes = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
    ours = set(ours_codes[r].indices.tolist())
    sklearn = set(np.nonzero(dense[r])[0].tolist())
    only = ours ^ sklearn
    print(f"signal {r}: {len(ours - sklearn)} atoms only in clip-nad's support, "
          f"{len(sklearn - ours)} only in sklearn's")
    x = X[r].astype(np.float64)
    support, residual = [], x.copy()
    for step in range(m):
        c = np.abs(D @ residual)
        c[support] = -1
        best, second = np.argsort(-c)[:2]
        if best in only or second in only:
            gap = (c[best] - c[second]) / c[best]
            print(f"step {step + 1}: best {best} {c[best]:.10f}, second {second} {c[second]:.10f}, rel gap {gap:.2e}")
            break  # the paths part at the first such step
        support.append(best)
        coef, *_ = np.linalg.lstsq(D[support].T, x, rcond=None)
        residual = x - D[support].T @ coef
    support.append(best)
    for _ in range(len(support), m):
        coef, *_ = np.linalg.lstsq(D[support].T, x, rcond=None)
        residual = x - D[support].T @ coef
        c = np.abs(D @ residual)
        c[support] = -1
        support.append(int(np.argmax(c)))
    s = set(int(a) for a in support)
    print(f"float64 support == clip-nad's: {s == ours}; == sklearn's: {s == sklearn}")


if __name__ == "__main__":
    main()
