from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from relnet.tasks.sort_of_clevr.generator import GeneratorConfig, generate

TINY = GeneratorConfig(train_images=24, val_images=6, test_images=6)


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def tiny_sort_of_clevr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated Sort-of-CLEVR folder, shared read-only by the tests."""
    root = tmp_path_factory.mktemp("sort-of-clevr")
    generate(root, seed=3, config=TINY)
    return root


@pytest.fixture(scope="session")
def small_sort_of_clevr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough Sort-of-CLEVR to learn from in seconds: 300 training images (6,000 questions)."""
    root = tmp_path_factory.mktemp("sort-of-clevr-small")
    generate(root, seed=4, config=GeneratorConfig(train_images=300, val_images=20, test_images=2))
    return root


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("PYTHONHASHSEED", "0")
