"""Optimal assignment of the cost matrix DIR/x.npy (scipy.optimize.linear_sum_assignment): the column of each row and the total cost."""
import json
import sys

import numpy as np
from scipy.optimize import linear_sum_assignment

cost = np.load(f"{sys.argv[1]}/x.npy")
rows, cols = linear_sum_assignment(cost)
assignment = [-1] * cost.shape[0]
for r, c in zip(rows, cols):
    assignment[int(r)] = int(c)
json.dump({"assignment": assignment, "total": float(cost[rows, cols].sum())}, sys.stdout)
