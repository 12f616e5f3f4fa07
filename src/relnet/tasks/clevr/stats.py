"""Validate a CLEVR folder and compute its statistics; check recorded answers against the executor."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from relnet.errors import DataFormatError
from relnet.tasks.clevr.cache import check_image, image_indices
from relnet.tasks.clevr.executor import IllPosedError, answer, function_name
from relnet.tasks.clevr.format import (
    QuestionsFile,
    ScenesFile,
    find_splits,
    image_path,
    questions_path,
    read_questions,
    read_scenes,
    scenes_path,
)
from relnet.tasks.clevr.vocab import ATTRIBUTES, CATEGORIES, QUESTION_TYPES, answer_text


def question_type(question: dict) -> str | None:
    """The question's type: its program's last function (``None`` without a program)."""
    program = question.get("program")
    return function_name(program[-1]) if program else None


def agreement(scenes: ScenesFile, questions: QuestionsFile, keep: int = 5) -> dict[str, Any]:
    """Run every program on its scene and compare with the recorded answer."""
    by_index = scenes.by_index
    counts = Counter()
    by_type: dict[str, Counter] = {}
    examples = []
    for number, question in enumerate(questions.questions):
        if "program" not in question or "answer" not in question:
            counts["no_answer"] += 1
            continue
        kind = question_type(question) or "?"
        tally = by_type.setdefault(kind, Counter())
        tally["questions"] += 1
        recorded = answer_text(question["answer"])
        try:
            executed = answer(question["program"], by_index[question["image_index"]], checked=True)
        except IllPosedError as error:
            executed = f"ill-posed ({error})"
            counts["ill_posed"] += 1
        if executed == recorded:
            counts["agree"] += 1
            tally["agree"] += 1
        else:
            counts["disagree"] += 1
            if len(examples) < keep:
                examples.append(
                    {"question": number, "text": question["question"], "recorded": recorded, "executed": executed}
                )
    answered = counts["agree"] + counts["disagree"]
    return {
        "questions": len(questions.questions),
        "answered": answered,
        **{key: counts[key] for key in ("agree", "disagree", "ill_posed", "no_answer")},
        "agreement": counts["agree"] / answered if answered else None,
        "by_type": {k: dict(v) for k, v in sorted(by_type.items())},
        "disagreements": examples,
    }


def scene_statistics(scenes: ScenesFile) -> dict[str, Any]:
    objects = [obj for scene in scenes.scenes for obj in scene["objects"]]
    per_scene = Counter(len(scene["objects"]) for scene in scenes.scenes)
    return {
        "images": len(scenes.scenes),
        "objects": len(objects),
        "objects_per_scene": {str(k): per_scene[k] for k in sorted(per_scene)},
        "mean_objects": round(len(objects) / max(1, len(scenes.scenes)), 3),
        "attributes": {
            attribute: {value: sum(obj[attribute] == value for obj in objects) for value in values}
            for attribute, values in ATTRIBUTES.items()
        },
    }


def question_statistics(questions: QuestionsFile) -> dict[str, Any]:
    items = questions.questions
    types = Counter(question_type(q) for q in items if "program" in q)
    answers_by_category: dict[str, Counter] = {category: Counter() for category in CATEGORIES}
    for question in items:
        kind = question_type(question)
        if kind in QUESTION_TYPES and "answer" in question:
            answers_by_category[QUESTION_TYPES[kind]][answer_text(question["answer"])] += 1
    lengths = [len(q["program"]) for q in items if "program" in q]
    return {
        "questions": len(items),
        "families": len({q.get("question_family_index") for q in items}),
        "question_types": {k: types[k] for k in QUESTION_TYPES if types[k]},
        "categories": {c: sum(answers_by_category[c].values()) for c in CATEGORIES},
        "answers_by_category": {
            c: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))) for c, v in answers_by_category.items()
        },
        "mean_program_length": round(sum(lengths) / len(lengths), 2) if lengths else None,
        "mean_question_words": round(sum(len(q["question"].split()) for q in items) / max(1, len(items)), 2),
    }


def inspect_folder(root: Path) -> dict[str, Any]:
    """Validate every split under ``root`` (files, image names, program answers) and return statistics."""
    root = Path(root)
    splits = find_splits(root)
    if not splits:
        raise DataFormatError(root, "no CLEVR split here (expected scenes/CLEVR_<split>_scenes.json or questions/...)")
    report: dict[str, Any] = {"task": "clevr", "path": str(root), "splits": {}}
    for split in splits:
        entry: dict[str, Any] = {}
        scenes = read_scenes(scenes_path(root, split), split) if scenes_path(root, split).is_file() else None
        asked = questions_path(root, split)
        questions = read_questions(asked, scenes, split) if asked.is_file() else None
        indices = image_indices(root, split, [s["image_index"] for s in scenes.scenes] if scenes else None)
        for index in indices:  # every image decodes completely (a truncated file fails)
            check_image(image_path(root, split, index))
        entry["image_files"] = len(indices)
        if scenes is not None:
            entry.update(scene_statistics(scenes))
        if questions is not None:
            entry.update(question_statistics(questions))
        if scenes is not None and questions is not None:
            check = agreement(scenes, questions)
            entry["executor"] = {k: check[k] for k in ("answered", "agree", "ill_posed", "no_answer")}
            if check["disagree"]:
                bad = check["disagreements"][0]
                raise DataFormatError(
                    questions.path,
                    f"recorded answer {bad['recorded']!r} disagrees with the program, which gives {bad['executed']!r} "
                    f"({check['disagree']} such question(s))",
                    record=f"question {bad['question']}",
                )
        report["splits"][split] = entry
    return report


def format_report(report: dict[str, Any]) -> str:
    """The statistics as a few readable lines per split."""
    lines = [f"CLEVR folder {report['path']}"]
    for split, entry in report["splits"].items():
        lines.append(
            f"\n[{split}] {entry.get('images', entry['image_files'])} images, {entry.get('questions', 0)} questions"
        )
        if "objects_per_scene" in entry:
            lines.append(
                f"  objects per scene (mean {entry['mean_objects']}): "
                + ", ".join(f"{k}: {v}" for k, v in entry["objects_per_scene"].items())
            )
            for attribute, counts in entry["attributes"].items():
                total = max(1, sum(counts.values()))
                lines.append(f"  {attribute:<9} " + ", ".join(f"{k} {100 * v / total:.1f}%" for k, v in counts.items()))
        if "categories" in entry:
            total = max(1, sum(entry["categories"].values()))
            lines.append(
                "  categories: " + ", ".join(f"{k} {100 * v / total:.1f}%" for k, v in entry["categories"].items())
            )
            for category, answers in entry["answers_by_category"].items():
                count = max(1, sum(answers.values()))
                shown = ", ".join(f"{k} {100 * v / count:.0f}%" for k, v in list(answers.items())[:11])
                lines.append(f"  answers, {category:<17} {shown}")
            lines.append(
                f"  families used: {entry['families']}, mean program length {entry['mean_program_length']}, "
                f"mean words {entry['mean_question_words']}"
            )
        if "executor" in entry:
            e = entry["executor"]
            lines.append(f"  executor agrees with {e['agree']} of {e['answered']} recorded answers")
    return "\n".join(lines)
