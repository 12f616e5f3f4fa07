"""Process-level tuning for fast CPU training.

glibc returns large freed blocks to the OS (``munmap``/trim) and maps fresh zeroed pages for the
next allocation, so every ``(B, n², width)`` activation of an RN step pays page faults. Keeping freed
memory in the heap removes that cost: a Sort-of-CLEVR RN training step (batch 64, g 4×256, bf16) on
2 Xeon cores went from 142 to 101 ms. Linux/glibc only; a no-op elsewhere.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import sys

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_applied = False


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of unmapping it; True if applied."""
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)  # the largest glibc accepts
    ok &= mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)  # never give the heap's top back
    ok &= mallopt(_M_TOP_PAD, 256 * 1024 * 1024)
    _applied = bool(ok)
    return _applied


def _cpuinfo(field: str) -> str | None:
    """The value of the first /proc/cpuinfo line starting with ``field``; None without one (or without Linux)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(field):
                    return line.split(":", 1)[1]
    except OSError:
        pass
    return None


def cpu_has_fast_bf16() -> bool:
    """True when this CPU multiplies bf16 matrices in hardware (AMX or AVX-512 BF16).

    Without them (e.g. an AVX2-only CPU) PyTorch emulates bf16 and a bf16 matmul runs 10-50× *slower*
    than fp32, so mixed precision must not be the default there.
    """
    return bool(set((_cpuinfo("flags") or "").split()) & {"amx_bf16", "avx512_bf16"})


def auto_precision(accelerator: str = "auto") -> str:
    """The Lightning precision relnet trains in when the recipe says ``"auto"``.

    ``bf16-mixed`` on a GPU that supports bf16 or a CPU with hardware bf16; ``32-true`` otherwise.
    """
    import torch

    wants_gpu = accelerator in ("auto", "gpu", "cuda")
    if wants_gpu and torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "bf16-mixed" if cpu_has_fast_bf16() else "32-true"


def device_description() -> str:
    """E.g. ``"1× NVIDIA H100 80GB HBM3"`` or ``"2-core Intel(R) Xeon(R) ... CPU"``."""
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()}× {torch.cuda.get_device_name(0)}"
    name = _cpuinfo("model name")
    model = name.strip() if name is not None else platform.processor() or "CPU"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    # The vector ISA decides which precision is fast (AMX: bf16 ~7× fp32; AVX2: bf16 emulated, slower).
    isa = torch.backends.cpu.get_cpu_capability()
    return f"{cores}-core {model} ({isa}{', hardware bf16' if cpu_has_fast_bf16() else ', no hardware bf16'})"
