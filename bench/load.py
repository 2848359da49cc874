"""Load test of `docpipe serve`: N concurrent uploads against W workers on loopback.

    .venv/bin/python bench/load.py                          # 60 uploads, 2 workers, replay OCR
    .venv/bin/python bench/load.py --engine rapidocr --uploads 8 --max-queued 8

Starts a server (own temp --data, 127.0.0.1, free port), fires every upload at once,
polls each accepted job until done, stops the server. Checks: every request answered
202 or 429, every 202 job finished (done or failed, never lost). Prints p50/p95 of the
upload latency and of the end-to-end latency (upload start → job seen done), and the
peak resident memory of the server and its workers together (sampled every 50 ms).
Bounded: every request has a timeout and the whole run a deadline (--deadline).
Exit status 0 when every check holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docpipe.service.local import LocalServer, rss_bytes  # noqa: E402

SAMPLES = ROOT / "fixtures" / "samples"


def payloads() -> list[list[tuple[str, tuple[str, bytes, str]]]]:
    """One multipart payload per committed sample submission."""
    out = []
    for sub in sorted(SAMPLES.glob("case-*/submission")):
        parts = [
            (
                "submission",
                ("submission.json", (sub / "submission.json").read_bytes(), "application/json"),
            )
        ]
        for f in sorted(sub.iterdir()):
            if f.name != "submission.json":
                parts.append(("files", (f.name, f.read_bytes(), "application/octet-stream")))
        out.append(parts)
    return out


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1), nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


class MemorySampler(threading.Thread):
    """Peak RSS of the server's whole session (server + workers), sampled until stopped."""

    def __init__(self, server: LocalServer) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.halt = threading.Event()
        self.peak_total = 0
        self.peak_server = 0

    def run(self) -> None:
        assert self.server.proc is not None
        while not self.halt.wait(0.05):
            pids = self.server.group_pids()
            self.peak_total = max(self.peak_total, rss_bytes(pids))
            self.peak_server = max(self.peak_server, rss_bytes([self.server.proc.pid]))


async def one(
    client: httpx.AsyncClient,
    parts: list[tuple[str, tuple[str, bytes, str]]],
    start: asyncio.Event,
    deadline: float,
) -> dict[str, object]:
    await start.wait()
    t0 = time.monotonic()
    try:
        r = await client.post("/v1/submissions", files=parts)
    except httpx.HTTPError as exc:
        return {"code": f"error: {type(exc).__name__}", "upload": time.monotonic() - t0}
    upload = time.monotonic() - t0
    result: dict[str, object] = {"code": r.status_code, "upload": upload}
    if r.status_code != 202:
        result["retry_after"] = r.headers.get("retry-after")
        return result
    job = r.json()["id"]
    while time.monotonic() < deadline:
        status = (await client.get(f"/v1/submissions/{job}")).json()["status"]
        if status in ("done", "failed"):
            result.update(status=status, e2e=time.monotonic() - t0)
            return result
        await asyncio.sleep(0.1)
    result["status"] = "timeout"
    return result


async def fire(url: str, n: int, deadline: float) -> list[dict[str, object]]:
    bodies = payloads()
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        start = asyncio.Event()
        tasks = [
            asyncio.create_task(one(client, bodies[i % len(bodies)], start, deadline))
            for i in range(n)
        ]
        await asyncio.sleep(0.2)  # every task waits at the gate
        start.set()
        return await asyncio.gather(*tasks)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--uploads", type=int, default=60)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-queued", type=int, default=40)
    ap.add_argument("--engine", default="replay", choices=["replay", "rapidocr"])
    ap.add_argument("--deadline", type=float, default=600.0, help="seconds for the whole run")
    args = ap.parse_args()

    env = {"DOCPIPE_OCR_ENGINE": args.engine, "DOCPIPE_MAX_QUEUED": str(args.max_queued)}
    if args.engine == "replay":
        env["DOCPIPE_OCR_REPLAY"] = str(SAMPLES)
    env.pop("DOCPIPE_TOKEN", None)
    os.environ.pop("DOCPIPE_TOKEN", None)
    with tempfile.TemporaryDirectory(prefix="docpipe-load-") as tmp:
        server = LocalServer(Path(tmp) / "data", workers=args.workers, env=env)
        server.start(timeout=120)
        sampler = MemorySampler(server)
        sampler.start()
        idle = rss_bytes(server.group_pids())
        t0 = time.monotonic()
        try:
            results = asyncio.run(fire(server.url, args.uploads, time.monotonic() + args.deadline))
        finally:
            wall = time.monotonic() - t0
            sampler.halt.set()
            sampler.join(timeout=5)
            server.stop()

    codes = [r["code"] for r in results]
    accepted = [r for r in results if r["code"] == 202]
    refused = [r for r in results if r["code"] == 429]
    finished = [r for r in accepted if r.get("status") in ("done", "failed")]
    uploads = [float(r["upload"]) for r in results if isinstance(r["upload"], float)]
    up202 = [float(r["upload"]) for r in accepted]  # type: ignore[arg-type]
    e2e = [float(r["e2e"]) for r in finished]  # type: ignore[arg-type]
    mib = 1024 * 1024
    print(
        f"docpipe serve load test: {args.uploads} concurrent uploads, {args.workers} workers, "
        f"engine {args.engine}, max queued {args.max_queued}"
    )
    print(
        f"answers: {len(accepted)} x 202, {len(refused)} x 429, "
        f"{len(results) - len(accepted) - len(refused)} other "
        f"{sorted(set(map(str, codes)) - {'202', '429'})}"
    )
    print(
        f"accepted jobs finished: {len(finished)}/{len(accepted)} "
        f"({sum(r.get('status') == 'failed' for r in finished)} failed)"
    )
    if refused:
        print(f"429 Retry-After: {sorted({str(r.get('retry_after')) for r in refused})}")
    print(
        f"upload latency (all answers)  p50 {pct(uploads, 0.5):6.3f} s   "
        f"p95 {pct(uploads, 0.95):6.3f} s"
    )
    print(
        f"upload latency (202 only)     p50 {pct(up202, 0.5):6.3f} s   "
        f"p95 {pct(up202, 0.95):6.3f} s"
    )
    print(
        f"end-to-end (upload → done)    p50 {pct(e2e, 0.5):6.3f} s   p95 {pct(e2e, 0.95):6.3f} s"
        f"   max {max(e2e, default=float('nan')):.3f} s"
    )
    if e2e:
        print(
            f"throughput: {len(finished) / wall:.2f} jobs/s over {wall:.1f} s wall "
            f"(mean e2e {statistics.mean(e2e):.2f} s)"
        )
    print(
        f"memory RSS: idle {idle / mib:.0f} MiB; "
        f"peak server+workers {sampler.peak_total / mib:.0f} MiB "
        f"(server alone {sampler.peak_server / mib:.0f} MiB)"
    )
    ok = len(accepted) + len(refused) == len(results) and len(finished) == len(accepted)
    print("checks:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
