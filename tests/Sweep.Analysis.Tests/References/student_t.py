"""Reference values of Student's t tail, the regularised incomplete beta and ln Gamma (scipy.stats / scipy.special).

Usage: /usr/bin/python3 student_t.py DIR  -- reads DIR/params.json ({"t": [...], "df": [...], "beta": [[a, b, x], ...],
"gamma": [...]}) and prints {"p": [2 * t.sf(|t|, df) for every (t, df) pair], "betainc": [...], "gammaln": [...]}.
"""
import json
import sys

import scipy.special
import scipy.stats

params = json.load(open(sys.argv[1] + "/params.json"))
print(json.dumps({
    "p": [[float(2 * scipy.stats.t.sf(abs(t), df)) for df in params["df"]] for t in params["t"]],
    "betainc": [float(scipy.special.betainc(a, b, x)) for a, b, x in params["beta"]],
    "gammaln": [float(scipy.special.gammaln(x)) for x in params["gamma"]],
}))
