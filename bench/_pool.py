"""The process pool both reading benchmarks use: spawned workers, one real engine each.

Each worker reviews whole cases with the engine named (``--engine``, default rapidocr,
on onnxruntime; rapidocr-openvino for OpenVINO) and the OCR disk cache under ``work``, so
a second run of a benchmark re-runs only classification, extraction and rules. The cache
key names the runtime: another engine reads the pages again.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any


def _init_worker(cache_dir: str, jobs: int, engine: str) -> None:
    os.environ["DOCPIPE_CACHE_DIR"] = cache_dir
    os.environ["DOCPIPE_WORKERS"] = str(jobs)
    os.environ["DOCPIPE_ENGINE"] = engine  # what a review without an engine named uses
    from docpipe.pipeline import warm_up

    warm_up(engine)


def run_cases(
    folders: list[Path],
    work: Path,
    jobs: int,
    one: Callable[[str], dict[str, Any]],
    verb: str = "reviewed",
    engine: str = "rapidocr",
) -> list[dict[str, Any]]:
    """``one(folder)`` for every case in a process pool, progress on stderr, by folder."""
    cache = work / "ocr-cache"
    cache.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    start = time.perf_counter()
    with ProcessPoolExecutor(
        jobs,
        mp_context=get_context("spawn"),
        initializer=_init_worker,
        initargs=(str(cache), jobs, engine),
    ) as pool:
        futures = [pool.submit(one, str(f)) for f in folders]
        for n, fut in enumerate(as_completed(futures), 1):
            results.append(fut.result())
            el = time.perf_counter() - start
            print(f"\r  {verb} {n}/{len(folders)} cases, {el:.0f} s", end="", file=sys.stderr)
    print(file=sys.stderr)
    return sorted(results, key=lambda r: r["folder"])
