#!/usr/bin/env python3
"""Generate the movies_big benchmark data set as CSV (BASELINES.md).

    python3 bench/gen_movies.py [N] [OUT]

N rows (default 1,000,000; or $BENCH_ROWS), written to OUT (default
bench/out/movies_<N>.csv) with a header:
    id,title,rating,released,description,director
- id 1..N
- title: 20-40 chars, ~5% with non-ASCII letters (é, Ł, Ø, ...)
- rating: 0.00-10.00, two decimals
- released: datetime 1950-01-01 .. 2024-12-31, "YYYY-MM-DD HH:MM:SS"
- description: 40-160 chars, ~5% containing a comma and double quotes
- director: ~10% empty (NULL)
Deterministic: a fixed seed, so every run writes the same bytes.
Python 3 standard library only.
"""
import csv
import os
import random
import sys

SEED = 20261129
WORDS = ("the night day last first lost city river star dark light road home king queen "
         "secret game ghost storm summer winter return rise fall dream fire ice iron glass "
         "silent hidden broken golden wild empty long short red blue green house garden "
         "ocean mountain valley forest island station letter promise journey").split()
ACCENTED = ("Amélie", "Łódź", "Øresund", "Müller", "Señor", "Ærø", "Café", "Crème", "Ñandú",
            "Björk", "Göteborg", "Žižkov", "Kraków", "São Paulo", "Fjörður")
FIRST = ("Anna Ben Carla David Elena Frank Grace Hugo Ines Jack Kira Liam Mona Nils Olga "
         "Paul Rosa Sam Tara Ugo Vera Will Xena Yuri Zoe").split()
LAST = ("Smith Novak Rossi Garcia Kowalski Dubois Jensen Silva Tanaka Kim Okafor Murphy "
        "Schmidt Nilsson Horvat Costa Lopez Berg Ivanova Moreau").split()
START = -631152000  # 1950-01-01T00:00:00Z
END = 1735689599    # 2024-12-31T23:59:59Z


def words_between(rng, lo, hi):
    """Words joined by spaces, cut to a length in [lo, hi]."""
    target = rng.randint(lo, hi)
    parts, n = [], 0
    while n < target:
        w = rng.choice(WORDS)
        parts.append(w)
        n += len(w) + 1
    text = " ".join(parts)[:target].rstrip()
    while len(text) < lo:
        text += "x"
    return text


def title(rng):
    t = words_between(rng, 20, 40).title()
    if rng.random() < 0.05:
        acc = rng.choice(ACCENTED)
        t = (acc + " " + t)[:40].rstrip()
        while len(t) < 20:
            t += "s"
    return t


def description(rng):
    d = words_between(rng, 40, 160)
    if rng.random() < 0.05:
        quote = '"%s"' % rng.choice(WORDS)
        d = d[:max(0, len(d) - len(quote) - 2)].rstrip() + ", " + quote
        while len(d) < 40:
            d = "a " + d
    return d


def iso(ts):
    days, secs = divmod(ts, 86400)
    # civil-from-days (Howard Hinnant), to avoid datetime per row
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    return "%04d-%02d-%02d %02d:%02d:%02d" % (y, m, d, secs // 3600, secs // 60 % 60, secs % 60)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("BENCH_ROWS", "1000000"))
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join("bench", "out", "movies_%d.csv" % n)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    rng = random.Random(SEED)
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "title", "rating", "released", "description", "director"])
        batch = []
        for i in range(1, n + 1):
            director = "" if rng.random() < 0.10 else rng.choice(FIRST) + " " + rng.choice(LAST)
            batch.append((i, title(rng), "%.2f" % (rng.randint(0, 1000) / 100),
                          iso(rng.randint(START, END)), description(rng), director))
            if len(batch) == 10000:
                w.writerows(batch)
                batch.clear()
        w.writerows(batch)
    os.replace(tmp, out)
    print(out)


if __name__ == "__main__":
    main()
