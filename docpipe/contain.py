"""Containment of a native library on hostile input: a call in a child with a deadline and a cap.

MuPDF has no operation budget of its own: a 3 KB PDF of nested form XObjects keeps it
drawing for hours, holding the GIL (the service's heartbeat thread never ran), and a
stream bomb takes all the memory. The standard way to contain a native parser is a
child process: ``run_contained`` forks, the child sets an address-space cap
(``RLIMIT_AS``, above what it inherited) and a CPU limit, runs the call and sends the
pickled result back through a pipe; the parent waits on the pipe with a deadline
(``select``, so other threads of the parent keep running) and SIGKILLs a child still
running at it.

A plain ``os.fork`` rather than ``multiprocessing``: the service's workers are daemonic
processes, which multiprocessing forbids to have children, and the child inherits
every imported module, so a call costs one fork (about 10-40 ms for a warm worker),
not an interpreter start. The child touches only what the call touches (MuPDF,
Pillow): the OCR engine's idle threads do not exist in it, and it leaves with
``os._exit`` so nothing of the parent's (open databases, atexit hooks) runs twice.

Outcomes: the call's result; a ``DocpipeError`` it raised, raised again in the parent
with both messages; ``TimeBudgetExceeded`` at the deadline; ``FileUnreadable`` when the
child ran out of memory or died (a signal, a crash of the native library).
"""

from __future__ import annotations

import contextlib
import faulthandler
import gc
import logging
import os
import pickle
import resource
import select
import signal
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from docpipe.errors import DocpipeError, FileUnreadable, TimeBudgetExceeded

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Memory a contained call may allocate on top of what the child inherited.
DEFAULT_MEMORY_BYTES = int(os.environ.get("DOCPIPE_CHILD_MEMORY_MB", "1536")) * 1024 * 1024

_OK, _ERROR, _CRASH = "ok", "error", "crash"


def available() -> bool:
    """Whether calls can be contained here (POSIX with fork); elsewhere they run in-process."""
    return hasattr(os, "fork") and sys.platform != "win32"


def _address_space() -> int:
    """Mapped address space of this process in bytes (Linux ``VmSize``), 0 when unknown."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", "rb") as fh:
        for line in fh:
            if line.startswith(b"VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _cap(which: int, limit: int) -> None:
    """Lower the soft limit ``which`` to ``limit``, never above the hard one in force.

    A process may not raise its hard limit: under an operator's ``ulimit -v`` smaller
    than inherited + cap, asking for more failed the child and every PDF was unreadable.
    """
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(which, (limit, hard))


def _child(
    write_fd: int, func: Callable[..., Any], args: tuple[Any, ...], mem: int, cpu: int
) -> None:
    """In the child: cap, call, send (kind, payload), leave without running the parent's exits."""
    code = 0
    # No garbage collection in the child: the parent's unreachable objects came along
    # with the fork, and finalising one that owns native threads (an OCR runtime a test
    # dropped) waits for threads a fork does not copy: the child hung to its deadline.
    # It lives for one call and leaves by os._exit; its memory goes with it.
    gc.disable()
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        # A crash of the native library is reported by the parent, in both languages;
        # a dump of the child's stack on the user's stderr would be a traceback.
        faulthandler.disable()
        inherited = _address_space()
        if inherited:
            # The cap counts what the parent had mapped too (models, thread stacks).
            _cap(resource.RLIMIT_AS, inherited + mem)
        _cap(resource.RLIMIT_CPU, cpu)
        try:
            message: tuple[Any, ...] = (_OK, func(*args))
        except DocpipeError as exc:
            message = (_ERROR, type(exc), exc.message_en, exc.message_zh)
        except MemoryError:
            message = (_CRASH, "memory")
        except BaseException as exc:  # the parent turns it into the file's finding
            message = (_CRASH, f"{type(exc).__name__}: {exc}"[:300])
        try:
            data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            data = pickle.dumps((_CRASH, "memory"))
        view = memoryview(data)
        while view:
            view = view[os.write(write_fd, view) :]
    except BaseException:  # nothing may escape a forked child into the parent's code
        code = 70
    finally:
        os._exit(code)


def run_contained(
    func: Callable[..., T],
    *args: Any,
    seconds: float,
    what: tuple[str, str],
    mem_bytes: int = DEFAULT_MEMORY_BYTES,
) -> T:
    """Call ``func(*args)`` in a child process under a deadline and a memory cap.

    ``what`` names the work for messages, as (English, Chinese), e.g.
    ``("x.pdf", "x.pdf")``. ``func`` and its arguments reach the child by the fork (no
    pickling); its result comes back pickled.
    Raises what ``func`` raised (a ``DocpipeError``), ``TimeBudgetExceeded`` at the
    deadline, ``FileUnreadable`` when the child ran out of memory or died.
    """
    en, zh = what
    if seconds <= 0:  # the budget is spent before the work starts
        raise _late(en, zh, 0)
    if not available():  # no containment here: the same call, in-process
        return func(*args)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's side is seen through its result
        os.close(read_fd)
        _child(write_fd, func, args, mem_bytes, int(seconds) + 2)
    os.close(write_fd)
    data, timed_out = b"", True  # until the child is heard from, it is to be killed
    try:
        data, timed_out = _collect(read_fd, time.monotonic() + seconds)
    finally:
        os.close(read_fd)
        if timed_out:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if timed_out:
        raise _late(en, zh, seconds)
    if not data:
        signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        cause = f"signal {signum}" if signum is not None else f"exit {os.WEXITSTATUS(status)}"
        if signum == signal.SIGXCPU:
            raise TimeBudgetExceeded(
                f"{en}: over its CPU budget; a person must read this file",
                f"{zh}：超出处理时间预算，请人工审阅该附件",
            )
        raise FileUnreadable(
            f"{en}: the reader stopped ({cause}); the file cannot be read safely",
            f"{zh}：读取程序中止（{cause}），无法安全读取该文件",
        )
    message = pickle.loads(data)
    if message[0] == _OK:
        result: T = message[1]
        return result
    if message[0] == _ERROR:
        cls, err_en, err_zh = message[1:]
        raise cls(err_en, err_zh)
    if message[1] == "memory":
        mb = mem_bytes // (1024 * 1024)
        raise FileUnreadable(
            f"{en}: over the memory limit of {mb} MB",
            f"{zh}：超过 {mb} MB 的内存上限",
        )
    log.warning("%s: contained call failed: %s", en, message[1])
    raise FileUnreadable(
        f"{en}: the reader failed ({message[1]})",
        f"{zh}：读取失败（{message[1]}）",
    )


def _late(en: str, zh: str, seconds: float) -> TimeBudgetExceeded:
    return TimeBudgetExceeded(
        f"{en}: not read within its time budget ({seconds:.1f} s left); a person must read it",
        f"{zh}：未在时间预算内读完（剩余 {seconds:.1f} 秒），请人工审阅该附件",
    )


def _collect(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Everything the child writes until it closes the pipe; (data, timed out)."""
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"", True
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return b"", True
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
