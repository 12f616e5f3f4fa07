"""Trivial shortcut models for bAbI: how far a story's surface gives the answer away.

A generator is faithful when these models score on its stories what they score on the real ones.
``python -m relnet.tasks.babi.fidelity DIR`` runs them on any bAbI folder (real or generated; learned on
its train split, scored on its test split), so a generated folder can be held against the real one:

* ``question_words``: the most frequent training answer of each question text (no story at all);
* ``position``: the answer read off the last word of the k-th statement before the question, with the
  best k on the training split;
* task 4 ``literal_match``: a fact that states the asked relation word for word ("What is north of the
  kitchen?" ← "The office is north of the kitchen."); ``literal_found`` is how often one exists;
* task 9 ``yes``: the share of "yes"; ``last_place``: "yes" when the person's latest fact names the
  asked place, negated or not; ``negates_last_place``: how often a negation names the place the
  person's previous fact affirmed;
* task 16 ``majority_colour``: the most frequent colour in the story; ``asked_last``: how often the
  asked person's statement is the last one;
* tasks 7 and 8 ``gap_2``: the share of two-statement gaps between questions.

tests/test_babi_fidelity.py states the values these have on the real data, worked out from the real
tasks' structure, and holds relnet's generator to them.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from relnet.tasks.babi.format import Line, Story, read_split

POSITIONS = range(1, 6)  # the statements before a question that the position shortcut may read


def questions(stories: list[Story]) -> Iterator[tuple[list[Line], Line]]:
    """Every question with (a copy of) the statements before it in its story."""
    for story in stories:
        told: list[Line] = []
        for line in story:
            if line.is_question:
                yield list(told), line
            else:
                told.append(line)


def share(values: list[bool]) -> float:
    """The fraction of true values (0 for none)."""
    return sum(values) / len(values) if values else 0.0


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def question_words_accuracy(train: list[Story], test: list[Story]) -> float:
    """The most frequent training answer of each question text (the overall one for unseen texts), on test."""
    by_question: dict[str, Counter[str]] = {}
    for _, question in questions(train):
        by_question.setdefault(" ".join(_words(question.text)), Counter())[question.answer or ""] += 1
    overall = Counter(question.answer for _, question in questions(train)).most_common(1)[0][0]
    guesses = (by_question.get(" ".join(_words(q.text))) for _, q in questions(test))
    answers = [q.answer for _, q in questions(test)]
    return share([(g.most_common(1)[0][0] if g else overall) == a for g, a in zip(guesses, answers, strict=True)])


def position_accuracy(train: list[Story], test: list[Story]) -> tuple[int, float]:
    """``(k, accuracy)``: the answer read off the last word of the k-th statement before the question,
    k chosen on the training stories, accuracy on the test ones."""

    def accuracy(data: list[Story], back: int) -> float:
        return share([len(told) >= back and _words(told[-back].text)[-1] == q.answer for told, q in questions(data)])

    best = max(POSITIONS, key=lambda back: accuracy(train, back))
    return best, accuracy(test, best)


# ---------------------------------------------------------------------------- task 4
FACT4 = re.compile(r"The (\w+) is (north|south|east|west) of the (\w+)\.")
_WHAT_IS_OF = re.compile(r"What is (north|south|east|west) of the (\w+)\?")
_WHAT_IS_THE = re.compile(r"What is the (\w+) (north|south|east|west) of\?")


def literal_match(told: list[Line], question: Line) -> str | None:
    """The place a fact names where it states the asked relation word for word, if one does."""
    facts = [match.groups() for line in told if (match := FACT4.fullmatch(line.text))]
    if match := _WHAT_IS_OF.fullmatch(question.text.strip()):
        direction, place = match.groups()
        return next((a for a, d, b in facts if (d, b) == (direction, place)), None)
    if match := _WHAT_IS_THE.fullmatch(question.text.strip()):
        place, direction = match.groups()
        return next((b for a, d, b in facts if (a, d) == (place, direction)), None)
    return None


# ---------------------------------------------------------------------------- task 9
NEGATION = re.compile(r"(\w+) is (?:not|no longer) in the (\w+)\.")
AFFIRMED = re.compile(r"(\w+) (?:is in|moved to|went to|journeyed to|travelled to|went back to) the (\w+)\.")
IS_IN = re.compile(r"Is (\w+) in the (\w+)\?")


def latest_facts(told: list[Line]) -> dict[str, tuple[bool, str]]:
    """Task 9: each person's latest fact as (affirmative, place)."""
    latest: dict[str, tuple[bool, str]] = {}
    for line in told:
        if match := NEGATION.fullmatch(line.text) or AFFIRMED.fullmatch(line.text):
            latest[match.group(1)] = (match.re is AFFIRMED, match.group(2))
    return latest


def negates_last_place(stories: list[Story]) -> list[bool]:
    """Task 9: for each negation after an affirmative fact about the same person, whether it names that place."""
    found = []
    for story in stories:
        latest: dict[str, tuple[bool, str]] = {}
        for line in story:
            negation = NEGATION.fullmatch(line.text)
            if negation and latest.get(negation.group(1), (False, ""))[0]:
                found.append(latest[negation.group(1)][1] == negation.group(2))
            latest.update(latest_facts([line]))
    return found


def last_place_guess(told: list[Line], question: Line) -> str:
    """Task 9's shortcut: "yes" when the person's latest fact names the asked place, negated or not."""
    match = IS_IN.fullmatch(question.text.strip())
    if match is None:
        return "no"
    person, place = match.groups()
    return "yes" if latest_facts(told).get(person, (False, ""))[1] == place else "no"


# ---------------------------------------------------------------------------- task 16
KIND = re.compile(r"(\w+) is an? (\w+)\.")
COLOUR = re.compile(r"(\w+) is (\w+)\.")


def animals_and_colours(told: list[Line]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Task 16: each person's animal, and the (person, colour) statements in story order."""
    kinds: dict[str, str] = {}
    colours: list[tuple[str, str]] = []
    for line in told:
        if match := KIND.fullmatch(line.text):
            kinds[match.group(1)] = match.group(2)
        elif match := COLOUR.fullmatch(line.text):
            colours.append((match.group(1), match.group(2)))
    return kinds, colours


def majority_colour(told: list[Line]) -> str | None:
    """Task 16's shortcut: the colour told most often (ties: the one told first)."""
    _, colours = animals_and_colours(told)
    counts = Counter(colour for _, colour in colours)
    return next((colour for _, colour in colours if counts[colour] == max(counts.values())), None)


# ---------------------------------------------------------------------------- report
def question_gaps(stories: list[Story]) -> Counter[int]:
    """How many statements lie between consecutive questions of a story."""
    gaps: Counter[int] = Counter()
    for story in stories:
        positions = [index for index, line in enumerate(story) if line.is_question]
        gaps.update(later - earlier - 1 for earlier, later in itertools.pairwise(positions))
    return gaps


def task_shortcuts(task: int, train: list[Story], test: list[Story]) -> dict[str, float]:
    """The shortcut scores of one task (learned on ``train``, scored on ``test``), rounded to 3 places."""
    back, position = position_accuracy(train, test)
    scores: dict[str, float] = {"question_words": question_words_accuracy(train, test), "position": position}
    scores["position_k"] = back
    asked = list(questions(test))
    if task == 4:
        found = [(literal_match(told, q), q.answer) for told, q in asked]
        scores["literal_found"] = share([guess is not None for guess, _ in found])
        scores["literal_match"] = share([guess == answer for guess, answer in found])
    elif task == 9:
        scores["yes"] = share([q.answer == "yes" for _, q in asked])
        scores["last_place"] = share([last_place_guess(told, q) == q.answer for told, q in asked])
        scores["negates_last_place"] = share(negates_last_place(test))
    elif task == 16:
        scores["majority_colour"] = share([majority_colour(told) == q.answer for told, q in asked])
        last = [bool(told) and told[-1].text.split()[0] == q.text.strip().rstrip("?").split()[-1] for told, q in asked]
        scores["asked_last"] = share(last)
    elif task in (7, 8):
        gaps = question_gaps(test)
        scores["gap_2"] = gaps[2] / max(1, sum(gaps.values()))
    return {name: round(value, 3) for name, value in scores.items()}


def folder_shortcuts(root: Path) -> dict[str, Any]:
    """Every task's shortcut scores in a bAbI folder: learned on its train split, scored on its test split."""
    train, test = read_split(root, "train"), read_split(root, "test")
    return {
        "path": str(root),
        "tasks": {str(task): task_shortcuts(task, train[task], test[task]) for task in test if task in train},
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m relnet.tasks.babi.fidelity DIR [OTHER_DIR]``: the shortcut scores, one folder or two."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m relnet.tasks.babi.fidelity", description=main.__doc__)
    parser.add_argument("folders", type=Path, nargs="+", help="bAbI folders, e.g. generated and real en-10k")
    args = parser.parse_args(argv)
    reports = [folder_shortcuts(folder) for folder in args.folders]
    print(" / ".join(report["path"] for report in reports))
    for task, scores in reports[0]["tasks"].items():
        values = {name: " / ".join(str(r["tasks"].get(task, {}).get(name, "-")) for r in reports) for name in scores}
        print(f"task {task}: " + ", ".join(f"{name} {value}" for name, value in values.items()))


if __name__ == "__main__":
    main()
