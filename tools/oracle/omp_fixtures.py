#!/usr/bin/python3
"""Reference fixtures for clip-nad's OMP and TextSpan (test/fixtures/omp/, committed, ~100 KB).

    /usr/bin/python3 tools/oracle/omp_fixtures.py [--out test/fixtures/omp]
    /usr/bin/python3 tools/oracle/omp_fixtures.py --check-npz FILE.npz [--expect CASE]   (used by hand / bench)

OMP: scikit-learn's SparseCoder(transform_algorithm='omp', transform_n_nonzero_coefs=m).transform(X), the exact
call of the paper's code (Debian python3-sklearn 1.2). Each case writes <case>_D.npy (atoms as rows, NOT unit
norm), <case>_X.npy (signals as rows) and <case>_codes.npy (dense N×K codes), plus cases.json (m, dtype, what the
case tests, n_iter per signal from orthogonal_mp_gram). One case is also saved with scipy.sparse.save_npz
(codes_scipy.npz) so the reader can be checked against scipy's own writer.

TextSpan: a numpy transcription of clip_text_span's replace_with_iterative_removal (algorithms.md §B), float64,
written here independently of clip-nad: textspan_<case>_R.npy (N×d outputs of one head), textspan_<case>_T.npy
(M×d unit texts), textspan.json (chosen indices in order, the variance each removes, the reconstruction's first
rows); cases with N > d and N < d.
Dictionary: dictionary_E.npy (words × d embeddings) and dictionary_D.npy, the paper's normalisation in numpy.
Seeds are fixed; regenerated files are identical.
"""
import argparse
import json
import os
import warnings

import numpy as np
import scipy.sparse
from sklearn.decomposition import SparseCoder
from sklearn.linear_model import orthogonal_mp_gram

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def sklearn_codes(D, X, m):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "ended prematurely" is part of what is tested
        codes = SparseCoder(dictionary=D, transform_algorithm="omp", transform_n_nonzero_coefs=m).transform(X)
        _, n_iter = orthogonal_mp_gram(D @ D.T, D @ X.T, n_nonzero_coefs=m, return_n_iter=True)
    return codes, np.atleast_1d(np.asarray(n_iter)).tolist()


def first_index_omp(D, x, m):
    """The same pursuit with ties broken by atom index instead of sklearn's swapped position (to find tie cases)."""
    G = D @ D.T
    xy = D @ x
    active = []
    alpha = xy.copy()
    for _ in range(m):
        lam = int(np.argmax(np.abs(alpha)))
        if lam in active or alpha[lam] ** 2 < np.finfo(D.dtype).eps:
            break
        active.append(lam)
        Ga = G[np.ix_(active, active)]
        gamma = np.linalg.solve(Ga, xy[active])
        alpha = xy - G[:, active] @ gamma
    return active


def find_swap_tie(rng):
    """Integer data where a tie at iteration 2 is decided by sklearn's swapped order, not by the atom index."""
    for _ in range(200000):
        K, d = 6, 3
        D = rng.integers(-2, 3, size=(K, d)).astype(np.float64)
        p = int(rng.integers(2, K))
        D[p] = 0
        D[p, int(rng.integers(0, d))] = 1  # unit atom: γ₁ = xy[p] stays an integer, so α is exact
        x = rng.integers(-3, 4, size=d).astype(np.float64)
        if np.any(np.all(D == 0, axis=1)):
            continue
        codes, _ = sklearn_codes(D, x[None], 2)
        skl = set(np.flatnonzero(codes[0]).tolist())
        naive = set(first_index_omp(D, x, 2))
        alpha1 = D @ x
        if int(np.argmax(np.abs(alpha1))) != p or np.sum(np.abs(alpha1) == np.abs(alpha1).max()) != 1:
            continue
        if skl != naive and len(skl) == 2:
            return D, x[None]
    raise RuntimeError("no swap-tie case found")


def cases(rng):
    out = []

    def scaled_atoms(K, d, lo=0.1, hi=10.0, dtype=np.float64):
        D = rng.standard_normal((K, d))
        D *= np.exp(rng.uniform(np.log(lo), np.log(hi), size=(K, 1)))  # non-unit atoms: raw correlations decide
        return D.astype(dtype)

    D = scaled_atoms(40, 16)
    out.append(("random", D, rng.standard_normal((25, 16)), 8, "random non-unit atoms, K=40, d=16, m=8"))
    D = scaled_atoms(300, 64)
    out.append(("wide", D, rng.standard_normal((20, 64)) * 3, 32, "K=300 > d=64, m=32"))
    D = scaled_atoms(50, 12)
    out.append(("overcomplete", D, rng.standard_normal((10, 12)), 20,
                "m=20 > d=12: the residual vanishes after d atoms, early stop (alpha^2 < eps)"))
    D = scaled_atoms(30, 20)
    coef = np.zeros((8, 30))
    for i in range(8):
        coef[i, rng.choice(30, 3, replace=False)] = rng.uniform(1, 3, 3) * rng.choice([-1, 1], 3)
    out.append(("exactly_sparse", D, coef @ D, 10,
                "signals are exact 3-atom combinations: the pursuit stops (alpha^2 < eps) once their support is in"))
    D = rng.standard_normal((20, 8)) * 1e-9
    out.append(("tiny_atoms", D, rng.standard_normal((5, 8)) * 100, 5,
                "atoms of norm ~3e-9: the second atom's L_kk <= eps (absolute), stop after 1 atom"))
    D = scaled_atoms(20, 8, 0.5, 2)
    out.append(("tiny_signals", D, rng.standard_normal((4, 8)) * 1e-9, 5,
                "signals of norm ~1e-9: alpha^2 < eps at once, all-zero codes"))
    D = np.array([[1, 1, 0, 0], [1, -1, 0, 0], [0, 0, 1, 1], [1, 1, 0, 0], [0, 2, 0, 0]], dtype=np.float64)
    X = np.array([[1, 0, 0, 0], [0, 0, 1, 1], [2, 0, 1, 0]], dtype=np.float64)
    out.append(("ties_first", D, X, 2,
                "exact ties at the first iteration (duplicate atoms 0 and 3): the first index wins"))
    D, X = find_swap_tie(rng)
    out.append(("ties_swapped", D, X, 2,
                "an exact tie at iteration 2 decided by sklearn's swapped Gram order, not by the lower atom index"))
    D = scaled_atoms(60, 20, dtype=np.float32)
    out.append(("float32", D, rng.standard_normal((15, 20)).astype(np.float32), 10,
                "float32 dictionary and signals: sklearn computes in float32 (eps 2^-23)"))
    return out


def textspan_reference(data, texts, iters, rank):
    """clip_text_span compute_complete_text_set.replace_with_iterative_removal, in float64 numpy."""
    u, s, vh = np.linalg.svd(data, full_matrices=False)
    vh = vh[:rank]
    texts = (vh.T @ np.linalg.inv(vh @ vh.T) @ vh @ texts.T).T  # project the texts onto the data's top-rank span
    mean = data.mean(axis=0, keepdims=True)
    centred = data - mean
    reconstruct = np.repeat(mean, data.shape[0], axis=0)
    total = float(np.sum(centred ** 2) / data.shape[0])
    chosen, variance = [], []
    for _ in range(iters):
        projection = centred @ texts.T
        top = int(np.argmax(projection.std(axis=0, ddof=1)))  # torch .std is unbiased
        chosen.append(top)
        t = texts[top]
        norm = t @ t
        c = centred @ t / norm
        removed = np.outer(c, t)
        variance.append(float(np.sum(removed ** 2) / data.shape[0]))
        reconstruct += removed
        centred = centred - removed
        texts = texts - np.outer(texts @ t / norm, t)
    return chosen, variance, total, reconstruct


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "omp"))
    ap.add_argument("--check-npz")
    ap.add_argument("--expect", help="a dense .npy the npz must equal")
    args = ap.parse_args()
    if args.check_npz:
        M = scipy.sparse.load_npz(args.check_npz)
        print(f"{args.check_npz}: {M.format} {M.shape} nnz={M.nnz} dtype={M.dtype} sorted={M.has_sorted_indices}")
        if args.expect:
            want = np.load(args.expect)
            diff = np.abs(M.toarray() - want).max()
            same = np.array_equal(M.toarray() != 0, want != 0)
            print(f"  same support: {same}, max |difference| {diff:.3g}")
            if not same or diff > 1e-4 * max(1.0, np.abs(want).max()):
                raise SystemExit(1)
        return
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(20250910)
    meta = {}
    for name, D, X, m, what in cases(rng):
        codes, n_iter = sklearn_codes(D, X, m)
        dtype = "float32" if D.dtype == np.float32 else "float64"
        np.save(os.path.join(args.out, f"{name}_D.npy"), np.ascontiguousarray(D))
        np.save(os.path.join(args.out, f"{name}_X.npy"), np.ascontiguousarray(X.astype(D.dtype)))
        np.save(os.path.join(args.out, f"{name}_codes.npy"), np.ascontiguousarray(codes.astype(np.float64)))
        meta[name] = {"m": m, "dtype": dtype, "what": what, "n_iter": n_iter}
        print(f"{name}: D {D.shape} X {X.shape} m={m} {dtype}; non-zeros per signal {n_iter}")
        if name == "random":
            scipy.sparse.save_npz(os.path.join(args.out, "codes_scipy.npz"), scipy.sparse.csr_matrix(codes))
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")

    # the paper's dictionary normalisation (sparse_decomposition.py): centre over words, divide columns by their norms
    E = rng.standard_normal((30, 8)).astype(np.float32) + 0.5
    D = E - E.mean(axis=0)
    D = D / np.linalg.norm(D, axis=0)
    np.save(os.path.join(args.out, "dictionary_E.npy"), E)
    np.save(os.path.join(args.out, "dictionary_D.npy"), D.astype(np.float32))

    spans = {}
    for name, N, iters, rank in (("tall", 60, 6, 10), ("short", 15, 5, 12)):
        R = rng.standard_normal((N, 24)) @ rng.standard_normal((24, 24)) * 0.3 + rng.standard_normal(24)
        T = rng.standard_normal((40, 24))
        T /= np.linalg.norm(T, axis=1, keepdims=True)
        chosen, variance, total, reconstruct = textspan_reference(R, T, iters, rank)
        np.save(os.path.join(args.out, f"textspan_{name}_R.npy"), R)
        np.save(os.path.join(args.out, f"textspan_{name}_T.npy"), T)
        spans[name] = {"iterations": iters, "rank": rank, "chosen": chosen, "variance": variance,
                       "totalVariance": total,
                       "reconstructFirstRows": reconstruct[:3].tolist()}
    with open(os.path.join(args.out, "textspan.json"), "w") as f:
        json.dump(spans, f, indent=1)
        f.write("\n")
    print("textspan:", {k: v["chosen"] for k, v in spans.items()})


if __name__ == "__main__":
    main()
