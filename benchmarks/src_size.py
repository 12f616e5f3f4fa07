"""How many lines relnet's source takes for the features it had before the task contract (issue 12).

    python benchmarks/src_size.py

The contract commit (4299710) started from 10,028 lines of ``src/``. Every later commit either adds a
capability (a task, a verb, a guard: its lines are new features) or restructures code without changing
behaviour. Only the second kind changes what the old features cost, so the old features' size today is
10,028 plus the net ``src/`` delta of the restructuring commits listed below (taken from ``git``, not
typed in). The script also prints today's ``src/`` per package, for the README's layout section.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

BASE = "4299710~1"  # the last commit before the task contract
#: The commits since BASE that change no behaviour (every other commit adds a capability).
RESTRUCTURING = {
    "4299710": "the task contract itself (it also added any-target training and metric kinds)",
    "0d24c8a": "one pair-grid primitive under the RN and the MLRN",
    "a609fac": "review: one file fingerprint for both image caches",
    "bdda9ff": "an experiment option, added ...",
    "59238ab": "... and removed again",
    "e43cc83": "an experiment option, added ...",
    "8523c00": "... and removed again",
    "c0b6a49": "shorter src without behaviour changes",
    "237a66f": "shorter training/cli/bench/viz/runtime",
    "307fd64": "shorter nn and the babi/clevr/sudoku/sort-of-clevr tasks",
}


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def src_lines(commit: str) -> int:
    files = [f for f in git("ls-tree", "-r", "--name-only", commit, "src").split() if f.endswith(".py")]
    return sum(len(git("show", f"{commit}:{f}").splitlines()) for f in files)


def delta(commit: str) -> int:
    rows = (line.split("\t") for line in git("diff", "--numstat", f"{commit}~1", commit, "--", "src").splitlines())
    return sum(int(added) - int(removed) for added, removed, _ in rows)


def main() -> None:
    base = src_lines(BASE)
    print(f"src/ before the contract ({BASE}): {base:,} lines")
    total = 0
    for commit, what in RESTRUCTURING.items():
        change = delta(commit)
        total += change
        print(f"  {commit} {change:+5d}  {what}")
    print(f"the same features today: {base + total:,} lines ({total:+,}, {100 * total / base:+.1f}%)")
    sizes: Counter[str] = Counter()
    for path in Path("src/relnet").rglob("*.py"):
        parts = path.relative_to("src/relnet").parts
        sizes["/".join(parts[:2]) if parts[0] == "tasks" and len(parts) > 2 else parts[0]] += len(
            path.read_text().splitlines()
        )
    print(f"src/ today, with every feature since: {sum(sizes.values()):,} lines")
    for name, lines in sorted(sizes.items(), key=lambda item: -item[1]):
        print(f"  {name:<24} {lines:6,}")


if __name__ == "__main__":
    main()
