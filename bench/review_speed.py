"""Whole submissions: docpipe's review against raw RapidOCR on the same pages, side by side.

    .venv/bin/python bench/review_speed.py [--cases 12] [--styles classic,browser]
        [--engine rapidocr] [--profile] [--work DIR]

For every generated submission of each fixture style (``classic``: fixtures.render;
``browser``: chromium's printing, ``make chromium fonts``), every other one half degraded:

- raw: ``RapidOCR()(page)``, the library's default call (onnxruntime, its default
  threads and models) on every page: an image attachment as its file, a PDF page
  rendered at 150 dpi beforehand (the rendering is not timed);
- docpipe: ``pipeline.run`` on the submission folder, the OCR cache off
  (``DOCPIPE_CACHE_DIR`` unset, the memory cache cleared), with every stage: intake,
  decode, OCR, second looks, classification, extraction, rules, report.

Both run in this one warm process, alternated submission by submission (the order
flips each time), so a noisy neighbour slows both. Printed per style: the median of
the per-submission ratios docpipe / raw (target ≤ 0.4), the same over the OCR'd pages
only (a page read from its text layer costs docpipe nothing and raw a full OCR, which
flatters the first ratio), p50 and p90 seconds a submission beside the load average,
and what the engine ran per page (detections, line recognitions, scorings: the second
looks). Then: a cached re-review in this warm process against the first review
(target ≥ 50×), a cached ``docpipe check`` as a whole process (target ≤ 1.5 s, the
engine's runtime never imported), and the peak RSS of a fresh worker process that
reviews every submission (target ≤ 1.2 GB). ``--profile`` prints cProfile's top rows
for one submission.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.pop("DOCPIPE_CACHE_DIR", None)  # timing means OCR for real, every time

import numpy as np  # noqa: E402

from docpipe import pipeline  # noqa: E402
from docpipe.ocr import cache as ocr_cache  # noqa: E402
from docpipe.ocr import get_engine  # noqa: E402
from fixtures.generate import generate_case, submission_dir  # noqa: E402

RATIO_TARGET = 0.4
CACHED_SPEEDUP_TARGET = 50.0
CACHED_CHECK_TARGET_S = 1.5
RSS_TARGET_MB = 1200
RAW_PDF_DPI = 150
ENGINE_CALLS = ("recognize", "recognize_line", "score_line")


def make_cases(work: Path, style: str, count: int, seed: int) -> list[Path]:
    """``count`` submission folders of one style, every other one half degraded."""
    out = work / style
    folders = []
    for i in range(count):
        name = out / f"case-{seed + i}"
        if not (name / "expected.json").is_file():
            name = generate_case(
                seed + i, out, degrade_share=0.5 if i % 2 else 0.0, layouts=(style,)
            )
        folders.append(submission_dir(name))
    return folders


def raw_pages(folder: Path) -> list[tuple[str, Any]]:
    """What raw RapidOCR is given: image files as paths, PDF pages rendered at 150 dpi."""
    import pymupdf

    pages: list[tuple[str, Any]] = []
    for f in sorted(folder.iterdir()):
        suffix = f.suffix.lower()
        if suffix in (".jpg", ".jpeg", ".png"):
            pages.append((f.name, str(f)))
        elif suffix == ".pdf":
            with pymupdf.open(f) as doc:
                for n, page in enumerate(doc, 1):
                    pix = page.get_pixmap(dpi=RAW_PDF_DPI)
                    arr = np.frombuffer(pix.samples, np.uint8).reshape(pix.h, pix.w, pix.n)
                    pages.append((f"{f.name}#{n}", np.ascontiguousarray(arr[..., :3][..., ::-1])))
    return pages


class Counted:
    """Counts and times the engine's calls by kind (detection, line, scoring)."""

    def __init__(self, engine: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        for kind in ENGINE_CALLS:
            fn = getattr(engine, kind, None)
            if fn is not None:
                setattr(engine, kind, self._wrap(kind, fn))

    def _wrap(self, kind: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kw)
            finally:
                self.calls[kind] += 1
                self.seconds[kind] += time.perf_counter() - t

        return call


def review_once(folder: Path, engine: str) -> tuple[float, int, set[str]]:
    """Seconds of one uncached review, its pages, and the raw names of those read from a
    text layer (not OCR'd)."""
    ocr_cache.clear_memory()
    t = time.perf_counter()
    state = pipeline.run(folder, engine=engine)
    seconds = time.perf_counter() - t
    pages = state.read_pages
    layer = {f"{name}#{n}" for (name, n), rp in pages.items() if rp.ocr.source != "ocr"}
    return seconds, len(pages), layer


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def cached_rereview(folder: Path, engine: str, work: Path) -> tuple[float, float]:
    """Seconds of a first review with ``DOCPIPE_CACHE_DIR`` set, and of the same again."""
    cache = work / "speed-cache"
    shutil.rmtree(cache, ignore_errors=True)
    os.environ["DOCPIPE_CACHE_DIR"] = str(cache)
    try:
        ocr_cache.clear_memory()
        t = time.perf_counter()
        pipeline.run(folder, engine=engine)
        first = time.perf_counter() - t
        ocr_cache.clear_memory()  # the disk cache only, as a review on another day
        t = time.perf_counter()
        pipeline.run(folder, engine=engine)
        return first, time.perf_counter() - t
    finally:
        os.environ.pop("DOCPIPE_CACHE_DIR", None)


CHECK_PROBE = """
import sys, time
t = time.perf_counter()
from docpipe.cli import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass
loaded = [m for m in ("onnxruntime", "openvino", "rapidocr") if m in sys.modules]
print("RUNTIMES-IMPORTED", ",".join(loaded) or "none", file=sys.stderr)
"""


def cached_check(folder: Path, engine: str, work: Path) -> tuple[float, str]:
    """Wall seconds of ``docpipe check`` as a new process on a filled cache; what it imported.

    Timed on the second of two runs: the first writes the bytecode that ``pip install``
    writes for an installed docpipe (``PYTHONDONTWRITEBYTECODE`` is dropped for both;
    compiling docpipe's sources anew costs a process about 0.3 s).
    """
    env = dict(os.environ, DOCPIPE_CACHE_DIR=str(work / "speed-cache"), DOCPIPE_ENGINE=engine)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [sys.executable, "-c", CHECK_PROBE, "check", str(folder), "--out", str(work / "out")]
    subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t
    said = [ln for ln in done.stderr.splitlines() if ln.startswith("RUNTIMES-IMPORTED")]
    return seconds, said[-1].split()[-1] if said else f"? (rc {done.returncode})"


def rss_worker(folders: list[str], engine: str) -> float:
    """In a fresh process: review every submission as a worker does; peak RSS in MB."""
    os.environ.pop("DOCPIPE_CACHE_DIR", None)
    pipeline.warm_up(engine)
    for f in folders:
        ocr_cache.clear_memory()
        pipeline.run(Path(f), engine=engine)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    ap = argparse.ArgumentParser(prog="bench/review_speed.py", description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=12, help="submissions per style (default 12)")
    ap.add_argument("--styles", default="classic,browser", help="fixture styles (layouts)")
    ap.add_argument("--seed", type=int, default=31000)
    ap.add_argument("--engine", default="rapidocr", help="docpipe's engine (default rapidocr)")
    ap.add_argument("--profile", action="store_true", help="cProfile one submission")
    ap.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "docpipe-bench-review"
    )
    args = ap.parse_args(argv)
    from rapidocr import RapidOCR

    styles = [s for s in args.styles.split(",") if s]
    cases = {s: make_cases(args.work, s, args.cases, args.seed) for s in styles}
    raw = RapidOCR()
    pipeline.warm_up(args.engine)
    engine = get_engine(args.engine)
    counted = Counted(engine)
    first = cases[styles[0]][0]
    for _, page in raw_pages(first):  # warm both: first calls allocate
        raw(page)
    review_once(first, args.engine)
    print(f"whole submissions: docpipe ({engine.name}) vs raw RapidOCR() on the same pages")
    print(f"  cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start")
    failed = False
    ok = {True: "ok", False: "MISSED"}
    for style in styles:
        rows = []
        calls_before = Counter(counted.calls)
        secs_before = Counter(counted.seconds)
        loads = []
        print(f"\n  style {style}")
        print(f"  {'case':12} {'pages':>5} {'ocr':>4} {'raw s':>7} {'docpipe s':>9} {'ratio':>6}")
        for i, folder in enumerate(cases[style]):
            pages = raw_pages(folder)

            def run_raw(pages: list[tuple[str, Any]] = pages) -> dict[str, float]:
                spent = {}
                for name, page in pages:
                    t = time.perf_counter()
                    raw(page)
                    spent[name] = time.perf_counter() - t
                return spent

            if i % 2:
                doc_s, n_pages, layer = review_once(folder, args.engine)
                raw_spent = run_raw()
            else:
                raw_spent = run_raw()
                doc_s, n_pages, layer = review_once(folder, args.engine)
            n_ocr = n_pages - len(layer)
            loads.append(os.getloadavg()[0])
            raw_s = sum(raw_spent.values())
            raw_ocr_s = sum(v for k, v in raw_spent.items() if k not in layer)
            rows.append((folder.parent.name, n_pages, n_ocr, raw_s, raw_ocr_s, doc_s))
            print(
                f"  {folder.parent.name:12} {n_pages:5} {n_ocr:4} {raw_s:7.2f} {doc_s:9.2f}"
                f" {doc_s / raw_s:6.2f}"
            )
        ratio = statistics.median(r[5] / r[3] for r in rows)
        ratio_ocr = statistics.median(r[5] / r[4] for r in rows if r[4] > 0)
        docs = [r[5] for r in rows]
        raws = [r[3] for r in rows]
        n_pages = sum(r[1] for r in rows)
        n_ocr = sum(r[2] for r in rows)
        print(f"  {'measure':58} {'value':>9} {'target':>8}")
        print(
            f"  {'median docpipe / raw, a submission':58} {ratio:9.2f}"
            f" {'≤ ' + str(RATIO_TARGET):>8} {ok[ratio <= RATIO_TARGET]}"
        )
        print(
            f"  {'median docpipe / raw over the OCR-d pages only':58} {ratio_ocr:9.2f}"
            f" {'≤ ' + str(RATIO_TARGET):>8} {ok[ratio_ocr <= RATIO_TARGET]}"
        )
        pairs = [
            ("docpipe s a submission, p50 / p90", f"{pct(docs, 0.5):.2f} / {pct(docs, 0.9):.2f}"),
            ("raw s a submission, p50 / p90", f"{pct(raws, 0.5):.2f} / {pct(raws, 0.9):.2f}"),
            ("pages a submission (OCR-d)", f"{n_pages / len(rows):.1f} ({n_ocr / len(rows):.1f})"),
            (
                "load average (1 min) during, median / max",
                f"{statistics.median(loads):.1f} / {max(loads):.1f}",
            ),
        ]
        for kind in ENGINE_CALLS:
            c = counted.calls[kind] - calls_before[kind]
            sec = counted.seconds[kind] - secs_before[kind]
            pairs.append(
                (
                    f"engine {kind} a page: calls, s",
                    f"{c / max(1, n_ocr):.2f}, {sec / max(1, n_ocr):.3f}",
                )
            )
        for label, value in pairs:
            print(f"  {label:58} {value:>9}")
        failed |= ratio > RATIO_TARGET or ratio_ocr > RATIO_TARGET
    folder = cases[styles[0]][1 if len(cases[styles[0]]) > 1 else 0]
    first_s, again_s = cached_rereview(folder, args.engine, args.work)
    check_s, imported = cached_check(folder, args.engine, args.work)
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        every = [str(f) for fs in cases.values() for f in fs]
        rss = pool.submit(rss_worker, every, args.engine).result()
    speedup = first_s / again_s
    print(f"\n  {'measure':58} {'value':>9} {'target':>8}")
    print(
        f"  {'cached re-review, x faster than the first (warm process)':58} {speedup:9.0f}"
        f" {'≥ ' + str(CACHED_SPEEDUP_TARGET):>8} {ok[speedup >= CACHED_SPEEDUP_TARGET]}"
        f"  ({first_s:.2f} s → {again_s:.3f} s)"
    )
    print(
        f"  {'cached docpipe check, whole process, s':58} {check_s:9.2f}"
        f" {'≤ ' + str(CACHED_CHECK_TARGET_S):>8} {ok[check_s <= CACHED_CHECK_TARGET_S]}"
        f"  (runtimes imported: {imported})"
    )
    print(
        f"  {'peak RSS of a worker reviewing every submission, MB':58} {rss:9.0f}"
        f" {'≤ ' + str(RSS_TARGET_MB):>8} {ok[rss <= RSS_TARGET_MB]}"
    )
    failed |= speedup < CACHED_SPEEDUP_TARGET or check_s > CACHED_CHECK_TARGET_S
    failed |= rss > RSS_TARGET_MB or imported != "none"
    if args.profile:
        prof = cProfile.Profile()
        ocr_cache.clear_memory()
        prof.enable()
        pipeline.run(folder, engine=args.engine)
        prof.disable()
        print(f"\n  cProfile of one uncached review ({folder.parent.name}), top by cumulative time")
        pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
        pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(15)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
