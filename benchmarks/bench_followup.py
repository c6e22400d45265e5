"""Time step 04's follow-up state (issue 17): ``compute`` for one territory and the evaluation's
fulfilment question (:func:`territoria.evaluation.methods._fulfilment`'s reading of every
territory), on a workspace with the agreements ledger (e.g. a copy of a demo workspace).

Run: ``python benchmarks/bench_followup.py WORKSPACE [--repeat 3]``; prints one JSON line.
With an older checkout on ``PYTHONPATH`` (no ``analyse_many``) it times one ``analyse`` per
territory, as that code did.
"""

from __future__ import annotations

import argparse
import json
import time

from territoria.steps import s04_followup as s04
from territoria.steps.common import open_context


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("workspace")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    ctx = open_context(args.workspace)
    tids = ctx.territories()["territory_id"].astype(str).tolist()
    busiest = max(tids, key=lambda t: len(s04.load(ctx, t)[0]))
    many = getattr(s04, "analyse_many", None)
    if many is None:
        def every():
            return [s04.analyse(ctx, t) for t in tids]
    else:
        def every():
            return many(ctx, tids)
    out = {
        "territories": len(tids), "ledger": ctx.store.has_table("agreements"),
        "compute_one_s": round(_best(lambda: s04.compute(ctx, busiest), args.repeat), 3),
        "territory": busiest,
        "fulfilment_all_territories_s": round(_best(every, args.repeat), 3),
        "state_as_of_city_s": round(_best(lambda: s04.state_as_of(
            ctx.store.table("agreements"), ctx.store.table("agreement_updates"),
            s04.resolve_as_of(ctx)), args.repeat), 3),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
