"""Statistics of a bAbI folder (real or generated): story lengths, vocabulary and answers per task.

``relnet inspect babi DIR`` prints them as JSON; :func:`markdown` renders the table in docs/babi.md.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from relnet.tasks.babi.format import FILE_SPLITS, Story, read_split, resolve_data_dir
from relnet.tasks.babi.vocab import ANSWER_INDEX, WORD_INDEX, tokenize

RN_FACTS = 20  # the RN paper reads the 20 most recent sentences


def task_stats(stories: list[Story]) -> dict[str, Any]:
    """One task's statistics; "statements before a question" counts back to the story's start."""
    statements_per_story = [sum(not line.is_question for line in story) for story in stories]
    before: list[int] = []
    words: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    supports: list[int] = []
    for story in stories:
        seen = 0
        for line in story:
            words.update(tokenize(line.text))
            if line.is_question:
                assert line.answer is not None
                before.append(seen)
                answers[line.answer] += 1
                supports.append(len(line.supports))
            else:
                seen += 1
    questions = len(before)
    return {
        "stories": len(stories),
        "questions": questions,
        "statements_per_story": _summary(statements_per_story),
        "statements_before_question": _summary(before),
        "beyond_rn_window": round(sum(b > RN_FACTS for b in before) / max(1, questions), 4),
        "supports_per_question": _summary(supports),
        "vocabulary_size": len(words),
        "vocabulary": sorted(words),
        "unknown_words": sorted(word for word in words if word not in WORD_INDEX),
        "answers": {answer: round(count / max(1, questions), 4) for answer, count in answers.most_common()},
        "unknown_answers": sorted(answer for answer in answers if answer.lower() not in ANSWER_INDEX),
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


def markdown(report: dict[str, Any], split: str = "train") -> str:
    """A per-task table of one split: stories, questions, story lengths, vocabulary, top answers."""
    rows = [
        "| task | stories | questions | statements/story (mean, max) | statements before a question "
        "(mean, max) | > 20 before | words | answers (most common first) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for task, stats in report["splits"][split]["tasks"].items():
        story, before = stats["statements_per_story"], stats["statements_before_question"]
        top = ", ".join(f"{answer} {100 * share:.0f}%" for answer, share in list(stats["answers"].items())[:6])
        more = len(stats["answers"]) - 6
        top += f" (+{more} more)" if more > 0 else ""
        rows.append(
            f"| {task} | {stats['stories']} | {stats['questions']} | {story['mean']}, {story['max']} | "
            f"{before['mean']}, {before['max']} | {100 * stats['beyond_rn_window']:.0f}% | "
            f"{stats['vocabulary_size']} | {top} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":  # python -m relnet.tasks.babi.stats DIR [split]: the markdown table
    import sys

    print(markdown(dataset_stats(Path(sys.argv[1])), *(sys.argv[2:3] or ["train"])))
