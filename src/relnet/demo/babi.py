"""The bAbI page: a story and a question, the committed RN's answer and the sentence pairs that decided it
(exact effects: the drop of the answer's margin when a pair's term is removed from the RN's sum)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from relnet.demo.errors import BadRequestError

#: Tried in order under the results folder; then any ``babi/**/rn.safetensors``.
WEIGHTS = ("babi/gpu/rn.safetensors", "babi/quick/rn.safetensors")
#: The most story lines a request may hold (the RN reads the last ``max_facts`` of them).
MAX_LINES = 100
TOP_PAIRS = 5
_LINE_ID = re.compile(r"^\d+\s+")


class BabiPage:
    """Loads the committed RN once, on the first request."""

    def __init__(self, results: Path) -> None:
        found = [results / name for name in WEIGHTS if (results / name).is_file()]
        found += sorted(results.glob("babi/**/rn.safetensors"))
        self.weights = found[0] if found else None
        self._model: torch.nn.Module | None = None

    def info(self) -> dict[str, Any]:
        return {"weights": None if self.weights is None else str(self.weights)}

    def models(self) -> torch.nn.Module:
        if self.weights is None:
            raise BadRequestError("no bAbI weights in the results folder (babi/**/rn.safetensors)", 404)
        if self._model is None:
            from relnet.training.weights import load_model

            self._model = load_model(self.weights, expect_task="babi")[1]
        return self._model

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        from relnet.explain.analysis import explain_batch
        from relnet.explain.capture import forward_with_terms, relation_module
        from relnet.tasks.babi.dataset import encode
        from relnet.tasks.babi.format import Line
        from relnet.tasks.babi.vocab import ANSWERS

        story, question = request.get("story"), request.get("question")
        if not isinstance(story, str) or not isinstance(question, str):
            raise BadRequestError('"story" and "question" must be strings')
        sentences = [_LINE_ID.sub("", line.strip()) for line in story.splitlines() if line.strip()]
        if not sentences:
            raise BadRequestError("the story is empty: write one sentence per line")
        if len(sentences) > MAX_LINES:
            raise BadRequestError(f"the story has {len(sentences)} lines; at most {MAX_LINES}")
        if not question.strip():
            raise BadRequestError("the question is empty")
        for where, text in [*((f"line {k + 1}", s) for k, s in enumerate(sentences)), ("the question", question)]:
            _check_words(where, text)
        lines = [Line(k + 1, text) for k, text in enumerate(sentences)]
        lines.append(Line(len(lines) + 1, question.strip(), answer="?"))
        batch = encode({0: [tuple(lines)]}).__getitems__([0])
        model = self.models()
        relation = relation_module(model, "the bAbI model")
        explanation = explain_batch(forward_with_terms(model, relation, batch).to(torch.float64))[0]
        slots = explanation.effects.shape[0]
        shown = sentences[-slots:]
        texts = [None] * (slots - len(shown)) + shown  # the RN's slots: padding first, the newest last
        top = [
            {"sentences": [texts[i], texts[j]], "effect": round(float(explanation.effects[i, j]), 4)}
            for i, j in explanation.top[:TOP_PAIRS].tolist()
        ]
        return {
            "weights": str(self.weights),
            "answer": ANSWERS[explanation.answer],
            "sentences_read": len(shown),
            "pairs": top,
        }


def _check_words(where: str, text: str) -> None:
    from relnet.tasks.babi.vocab import WORD_INDEX, tokenize

    unknown = [word for word in tokenize(text) if word not in WORD_INDEX]
    if unknown:
        raise BadRequestError(f"{where}: unknown word {unknown[0]!r} (the models know the bAbI tasks' words only)")
    if not tokenize(text):
        raise BadRequestError(f"{where} has no words")
