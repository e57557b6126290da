"""Reference values for src/analysis/stats.ts: scipy.stats.pointbiserialr / pearsonr (r, two-sided p) and
scipy.special.betainc on seeded random data. Writes test/fixtures/stats/correlations.json.
Run: /usr/bin/python3 tools/oracle/make_stats_fixture.py"""
import json
import os

import numpy as np
from scipy import special, stats

rng = np.random.default_rng(13)
cases = []
for n, effect in [(5, 0.5), (12, 0.0), (40, 0.3), (200, 0.05), (1000, 0.2), (8144, 0.02), (3000, 0.45), (30, 3.0)]:
    labels = (rng.random(n) < 0.3).astype(int)
    labels[0], labels[1] = 0, 1  # never constant
    scores = np.round(rng.normal(size=n) + effect * labels, 4)
    r, p = stats.pointbiserialr(labels, scores)
    cases.append({"kind": "pointbiserial", "labels": labels.tolist(), "scores": scores.tolist(),
                  "r": float(r), "p": float(p)})
for n in [3, 11, 250]:
    x = rng.normal(size=n)
    x = np.round(x, 4)
    y = np.round(0.4 * x + rng.normal(size=n), 4)
    r, p = stats.pearsonr(x, y)
    cases.append({"kind": "pearson", "x": x.tolist(), "y": y.tolist(), "r": float(r), "p": float(p)})
betainc = []
for a, b, x in [(0.5, 0.5, 0.3), (2.0, 0.5, 0.9), (4071.0, 0.5, 0.999), (4071.0, 0.5, 0.2), (1.5, 7.0, 0.01),
                (30.0, 30.0, 0.5),
                (0.5, 4071.0, 1e-4), (100.0, 0.5, 0.999999)]:
    betainc.append({"a": a, "b": b, "x": x, "value": float(special.betainc(a, b, x))})
out = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "stats", "correlations.json")
with open(out, "w") as f:
    json.dump({"scipy": __import__("scipy").__version__, "cases": cases, "betainc": betainc}, f)
print("wrote", out, len(cases), "cases")
