"""Generate CLEVR questions for scenes: random families, rejection of ill-posed and degenerate attempts,
and rejection sampling that pushes each family's answers towards uniform."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from relnet.tasks.clevr.describe import RejectError
from relnet.tasks.clevr.format import image_filename
from relnet.tasks.clevr.templates import FAMILIES, Context

ATTEMPTS_PER_QUESTION = 80
TRIES_PER_FAMILY = 3


@dataclass
class AnswerBalancer:
    """Per-family answer counts; an answer already well above its family's average is turned down."""

    slack: float = 1.3
    floor: int = 3
    counts: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def accepts(self, family: int, answer: str) -> bool:
        counts = self.counts[family]
        if not counts:
            return True
        average = sum(counts.values()) / len(counts)
        return counts[answer] < max(self.floor, self.slack * average)

    def record(self, family: int, answer: str) -> None:
        self.counts[family][answer] += 1

    def family_counts(self) -> np.ndarray:
        """Questions made so far per family."""
        return np.array([sum(self.counts[f].values()) if f in self.counts else 0 for f in range(len(FAMILIES))])


def questions_for_scene(
    rng: np.random.Generator, scene: dict, count: int, balancer: AnswerBalancer, first_index: int = 0
) -> list[dict]:
    """Up to ``count`` distinct questions about ``scene`` (fewer if the attempts run out)."""
    questions: list[dict] = []
    seen: set[str] = set()
    for _ in range(count):
        # Least-used families first (with random tie-breaks), a few attempts each.
        order = np.argsort(balancer.family_counts() + rng.uniform(0, 3, len(FAMILIES)), kind="stable")
        tries = (int(f) for f in order for _ in range(TRIES_PER_FAMILY))
        for family in itertools.islice(tries, ATTEMPTS_PER_QUESTION):
            ctx = Context(rng, scene)
            try:
                text, answer = FAMILIES[family].build(ctx)
            except RejectError:
                continue
            if text in seen or not balancer.accepts(family, answer):
                continue
            balancer.record(family, answer)
            seen.add(text)
            questions.append(
                {
                    "split": scene["split"],
                    "image_index": scene["image_index"],
                    "image_filename": image_filename(scene["split"], scene["image_index"]),
                    "question_index": first_index + len(questions),
                    "question": text,
                    "answer": answer,
                    "question_family_index": family,
                    "program": ctx.nodes,
                }
            )
            break
    return questions
