"""Writes an export of irregular buyers (a Pareto/NBD process, as in retail transaction data):
each client buys at their own Poisson rate, drawn from a gamma distribution, until an
exponentially distributed lifetime ends. A different shape from `winback sample`'s service
rhythms, to check the lapse score does not only work on the data it was designed around.

Usage: irregular_buyers.py CLIENTS SEED > export.csv
"""
import datetime
import random
import sys

clients, seed = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
start, end = datetime.date(2024, 1, 1), datetime.date(2026, 6, 30)
span = (end - start).days
print("client_id,occurred_at,service_category,amount")
for i in range(clients):
    rate = rng.gammavariate(0.55, 1 / 10.0)      # purchases a day; mean one every ~18 days
    dropout = rng.gammavariate(0.6, 1 / 200.0)   # chance a day of leaving for good
    joined = rng.randint(0, span // 2)
    lifetime = rng.expovariate(dropout) if dropout > 0 else float("inf")
    t = joined
    while t < span and t - joined < lifetime:
        print(f"c{i},{start + datetime.timedelta(days=int(t))},shop,{rng.randint(10, 80)}.00")
        t += rng.expovariate(rate) + 1
