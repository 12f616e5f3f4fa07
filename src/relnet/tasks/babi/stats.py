"""Statistics of a bAbI folder (real or generated), per task, to hold a generated folder against a real one.

``relnet inspect babi DIR`` prints them as JSON; :func:`markdown` renders one folder's table (in
docs/babi.md) and :func:`comparison` two folders side by side::

    python -m relnet.tasks.babi.stats DIR [REAL_DIR] [--split train]

Per task: stories, questions per story, statements per story and before each question, how far back
the supporting facts lie, the answer distribution (with its entropy) and the question forms (the
question with its names, places and things masked), e.g. task 4's four forms "what is north of the _".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

from relnet.tasks.babi.format import FILE_SPLITS, Story, read_split, resolve_data_dir
from relnet.tasks.babi.vocab import ANIMALS, ANSWER_INDEX, COLORS, ITEMS, LOCATIONS, MOTIVES, WORD_INDEX, tokenize

RN_FACTS = 20  # the RN paper reads the 20 most recent sentences
TOP = 8  # answers and question forms listed per task
#: Words masked in a question form: the people, places, things, animals and colours of the 20 tasks.
_ENTITIES = """
antoine bernhard bill brian daniel emily fred gertrude greg jason jeff jessica john julie julius lily mary sandra
sumit winona yann frog lion swan rhino cats mice wolves triangle square rectangle sphere red blue pink box
chocolates chocolate chest container suitcase
"""
ENTITIES = frozenset(_ENTITIES.split()) | frozenset((*ANIMALS, *COLORS, *ITEMS, *LOCATIONS, *MOTIVES))


def question_form(text: str) -> str:
    """``"What is north of the kitchen?"`` → ``"what is north of the _"`` (runs of masked words → one ``_``)."""
    words = ["_" if word in ENTITIES else word for word in tokenize(text)]
    return re.sub(r"_( _)+", "_", " ".join(words))


def entropy_bits(counts: Counter[str]) -> float:
    """The Shannon entropy of a distribution given by counts, in bits."""
    total = sum(counts.values())
    return -sum(count / total * math.log2(count / total) for count in counts.values() if count)


def task_stats(stories: list[Story]) -> dict[str, Any]:
    """One task's statistics; "statements before a question" counts back to the story's start, and a
    supporting fact's distance is the number of statements from it to the question (1: the last one)."""
    statements_per_story = [sum(not line.is_question for line in story) for story in stories]
    questions_per_story = [sum(line.is_question for line in story) for story in stories]
    before: list[int] = []
    words: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    forms: Counter[str] = Counter()
    supports: list[int] = []
    distances: list[int] = []
    for story in stories:
        seen = 0
        index_of: dict[int, int] = {}  # line id → its statement number
        for line in story:
            words.update(tokenize(line.text))
            if line.is_question:
                assert line.answer is not None
                before.append(seen)
                answers[line.answer] += 1
                forms[question_form(line.text)] += 1
                supports.append(len(line.supports))
                distances.extend(seen + 1 - index_of[support] for support in line.supports if support in index_of)
            else:
                seen += 1
                index_of[line.id] = seen
    questions = len(before)
    return {
        "stories": len(stories),
        "questions": questions,
        "questions_per_story": _summary(questions_per_story),
        "statements_per_story": _summary(statements_per_story),
        "statements_before_question": _summary(before),
        "beyond_rn_window": round(sum(b > RN_FACTS for b in before) / max(1, questions), 4),
        "supports_per_question": _summary(supports),
        "support_distance": _summary(distances),
        "support_beyond_rn_window": round(sum(d > RN_FACTS for d in distances) / max(1, len(distances)), 4),
        "vocabulary_size": len(words),
        "vocabulary": sorted(words),
        "unknown_words": sorted(word for word in words if word not in WORD_INDEX),
        "answer_classes": len(answers),
        "answer_entropy_bits": round(entropy_bits(answers), 3) if answers else 0.0,
        "answers": {answer: round(count / max(1, questions), 4) for answer, count in answers.most_common()},
        "unknown_answers": sorted(answer for answer in answers if answer.lower() not in ANSWER_INDEX),
        "question_forms": {form: round(count / max(1, questions), 4) for form, count in forms.most_common(TOP)},
    }


def _summary(values: list[int]) -> dict[str, float]:
    if not values:
        return {"min": 0, "mean": 0.0, "max": 0}
    return {"min": min(values), "mean": round(sum(values) / len(values), 2), "max": max(values)}


def dataset_stats(root: Path) -> dict[str, Any]:
    """Validate every split of ``root`` and collect per-task statistics."""
    data_dir = resolve_data_dir(root)
    report: dict[str, Any] = {"task": "babi", "path": str(root), "data_dir": str(data_dir), "splits": {}}
    for split in FILE_SPLITS:
        by_task = read_split(root, split)
        tasks = {str(task): task_stats(stories) for task, stories in by_task.items()}
        report["splits"][split] = {"questions": sum(t["questions"] for t in tasks.values()), "tasks": tasks}
    return report


def _top(shares: dict[str, float], count: int = 6) -> str:
    listed = ", ".join(f"{key} {100 * share:.0f}%" for key, share in list(shares.items())[:count])
    more = len(shares) - count
    return listed + (f" (+{more} more)" if more > 0 and count > 1 else "")


def markdown(report: dict[str, Any], split: str = "train") -> str:
    """A per-task table of one split: stories, questions, story lengths, vocabulary, top answers."""
    rows = [
        "| task | stories | questions | questions/story | statements/story (mean, max) | statements before a "
        "question (mean, max) | > 20 before | support distance (mean, max) | words | answer entropy (bits) | "
        "answers (most common first) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for task, stats in report["splits"][split]["tasks"].items():
        story, before, distance = (stats[key] for key in ("statements_per_story", "statements_before_question",
                                                          "support_distance"))  # fmt: skip
        rows.append(
            f"| {task} | {stats['stories']} | {stats['questions']} | {stats['questions_per_story']['mean']} | "
            f"{story['mean']}, {story['max']} | {before['mean']}, {before['max']} | "
            f"{100 * stats['beyond_rn_window']:.0f}% | {distance['mean']}, {distance['max']} | "
            f"{stats['vocabulary_size']} | {stats['answer_entropy_bits']} | {_top(stats['answers'])} |"
        )
    return "\n".join(rows)


def comparison(report: dict[str, Any], other: dict[str, Any], split: str = "train") -> str:
    """Two folders side by side (``a / b`` in each cell), per task present in both: the figures to hold
    a generated folder against a real one."""
    rows = [
        f"a: {report['data_dir']}, b: {other['data_dir']} ({split} split)",
        "",
        "| task | questions/story | statements/story | support distance | answer entropy (bits) | top answer | "
        "top question form |",
        "|---|---|---|---|---|---|---|",
    ]
    mine, theirs = report["splits"][split]["tasks"], other["splits"][split]["tasks"]
    for task in (task for task in mine if task in theirs):
        a, b = mine[task], theirs[task]
        means = ("questions_per_story", "statements_per_story", "support_distance")
        cells = [" / ".join(str(stats[key]["mean"]) for stats in (a, b)) for key in means]
        cells.append(" / ".join(str(stats["answer_entropy_bits"]) for stats in (a, b)))
        cells += [" / ".join(_top(stats[key], 1) for stats in (a, b)) for key in ("answers", "question_forms")]
        rows.append(f"| {task} | {' | '.join(cells)} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    """``python -m relnet.tasks.babi.stats DIR [OTHER_DIR] [--split S]``: one table, or two folders compared."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m relnet.tasks.babi.stats", description=main.__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("other", type=Path, nargs="?", help="a second folder (e.g. the real en-10k) to compare")
    parser.add_argument("--split", default="train", choices=tuple(FILE_SPLITS))
    args = parser.parse_args(argv)
    report = dataset_stats(args.folder)
    if args.other is None:
        print(markdown(report, args.split))
    else:
        print(comparison(report, dataset_stats(args.other), args.split))


if __name__ == "__main__":
    main()
