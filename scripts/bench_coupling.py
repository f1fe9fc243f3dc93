"""Cold build time of all coupling coefficients of a one-element ACE basis.

Run in a fresh process: python scripts/bench_coupling.py ORDER DEGREE (e.g. 3 25, 4 12)."""
import argparse
import time

from acefit.basis.coupling import coupling_coefficients

def coupling_keys(order, degree, wl=1.5):
    """(ls, identity pattern) for every (n, l) multiset with Σ(n + wl·l) ≤ degree, Σl even, n ≥ 1."""
    one = sorted(((n, l) for n in range(1, int(degree) + 1) for l in range(int(degree / wl) + 1)
                  if n + wl * l <= degree), key=lambda t: (t[1], t[0]))
    keys, n_func = set(), 0
    def grow(prefix, start, cost):
        nonlocal n_func
        if prefix and sum(l for _, l in prefix) % 2 == 0:
            keys.add((tuple(l for _, l in prefix), tuple(prefix.index(c) for c in prefix)))
        if len(prefix) == order:
            return
        for k in range(start, len(one)):
            n, l = one[k]
            if cost + n + wl * l <= degree:
                grow(prefix + [one[k]], k, cost + n + wl * l)
    grow([], 0, 0.0)
    return sorted(keys)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("order", type=int, help="correlation order, e.g. 3")
    p.add_argument("degree", type=float, help="total degree, e.g. 25")
    args = p.parse_args(argv)
    keys = coupling_keys(args.order, args.degree)
    t0 = time.perf_counter()
    for ls, ident in keys:
        coupling_coefficients(ls, ident)
    print(f"order {args.order}, degree {args.degree:g}: {len(keys)} (ls, pattern) keys, "
          f"cold build {time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main()
