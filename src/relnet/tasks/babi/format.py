"""The bAbI v1.2 text format and folder layout: read, validate, write.

A task file holds stories, one line each statement or question::

    1 Mary moved to the bathroom.
    2 John went to the hallway.
    3 Where is Mary? <TAB>bathroom<TAB>1

Line IDs start at 1 and go up by one; an ID of 1 starts a new story. A question line carries the
answer (comma-joined for lists and paths: ``football,milk``, ``s,e``) and the space-separated IDs of
the supporting lines, which must be earlier lines of the same story.

Layouts of the v1.2 archive (``tasks_1-20_v1-2/``):

* ``en/``, ``en-10k/``: ``qaN_<name>_train.txt`` and ``qaN_<name>_test.txt``;
* ``en-valid/``, ``en-valid-10k/``: ``qaN_train.txt``, ``qaN_valid.txt``, ``qaN_test.txt`` (the
  train file split 90/10).

Text is kept byte for byte (including the space some tasks leave before the TAB), so
``write_task_file(read_task_file(p))`` reproduces ``p`` exactly.

A truncated file is refused: its last line has no final newline, or a question line lost its answer
or supporting IDs, or its last story ends with a statement (in every task but 20, whose stories may
end with a statement, a story's last line is a question). So is an answer outside relnet's bAbI answer
vocabulary (:mod:`relnet.tasks.babi.vocab`, the answers of the English v1.2 tasks): no relnet model
could give it, so it could only lower the accuracy silently. A line longer than
:data:`MAX_LINE_LENGTH` characters is refused before it can blow up the token tables.

A question line whose TABs were lost (a line with a ``?`` or starting with a question word but no
TAB) is refused rather than read as a statement; so is a supporting ID that names a question line.
In a file named ``qaN_*``, a question whose form belongs only to other tasks (:data:`QUESTION_FORMS`)
stops the file, so a file of another task put in the wrong place stops at its first question; a form
no task's template has is let through.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from relnet.errors import DataFormatError, shorten
from relnet.tasks.babi.vocab import ANSWER_INDEX

TASK_NAMES: dict[int, str] = {
    1: "single-supporting-fact",
    2: "two-supporting-facts",
    3: "three-supporting-facts",
    4: "two-arg-relations",
    5: "three-arg-relations",
    6: "yes-no-questions",
    7: "counting",
    8: "lists-sets",
    9: "simple-negation",
    10: "indefinite-knowledge",
    11: "basic-coreference",
    12: "conjunction",
    13: "compound-coreference",
    14: "time-reasoning",
    15: "basic-deduction",
    16: "basic-induction",
    17: "positional-reasoning",
    18: "size-reasoning",
    19: "path-finding",
    20: "agents-motivations",
}
#: Sub-folders of the v1.2 archive, most preferred first (the 10k joint benchmark with its own valid split).
LAYOUTS = ("en-valid-10k", "en-10k", "en-valid", "en")
#: relnet's split names → the file suffixes that hold them.
FILE_SPLITS = {"train": "train", "val": "valid", "test": "test"}
VALID_FRACTION = 0.1

_FILE_PATTERN = re.compile(r"^qa(\d+)_(?:([a-z-]+)_)?(train|valid|test)\.txt$")
_TASK_PREFIX = re.compile(r"^qa(\d+)_")
#: Line and supporting-fact IDs: ASCII digits without a leading zero ("²" passes str.isdigit, not int).
_ID = re.compile(r"[1-9][0-9]*")
#: The longest line accepted; the real files' lines have under 100 characters.
MAX_LINE_LENGTH = 1_000
#: Tasks whose stories may end with a statement (task 20 tells what an agent does after the last question).
MAY_END_WITH_STATEMENT = frozenset({20})
#: Words that start a question and never a statement of the English tasks.
_QUESTION_WORDS = frozenset({"where", "what", "who", "how", "is", "does", "why"})

_NAME = r"(?!the )[a-z]+"
_THING = r"[a-z]+(?: [a-z]+)*"
_FORMS: dict[str, tuple[int, ...]] = {
    rf"where is {_NAME}": (1, 11, 12, 13),
    rf"where is the {_THING}": (2,),
    rf"where was the {_THING} before the {_THING}": (3,),
    rf"where was {_NAME} before the {_THING}": (14,),
    rf"what is (?:north|south|east|west) of the {_THING}": (4,),
    rf"what is the {_THING} (?:north|south|east|west) of": (4,),
    rf"what did {_NAME} give to {_NAME}": (5,),
    rf"who received the {_THING}": (5,),
    rf"who gave the {_THING}": (5,),
    rf"who did {_NAME} give the {_THING} to": (5,),
    rf"is {_NAME} in the {_THING}": (6, 9, 10),
    rf"how many objects is {_NAME} carrying": (7,),
    rf"what is {_NAME} carrying": (8,),
    rf"what is {_NAME} afraid of": (15,),
    rf"what colou?r is {_NAME}": (16,),
    rf"is the {_THING} (?:above|below|to the left of|to the right of) the {_THING}": (17,),
    rf"does the {_THING} fit in the {_THING}": (18,),
    rf"is the {_THING} bigger than the {_THING}": (18,),
    rf"how do you go from the {_THING} to the {_THING}": (19,),
    rf"where will {_NAME} go": (20,),
    rf"why did {_NAME} (?:go to|get) the {_THING}": (20,),
}
#: The question forms of the English v1.2 tasks (lower-cased, without the question mark) → their tasks.
QUESTION_FORMS = {re.compile(form): tasks for form, tasks in _FORMS.items()}


def question_tasks(question: str) -> tuple[int, ...]:
    """The tasks whose questions take the form of ``question`` (``()`` for none): tasks 1, 11, 12 and 13
    ask alike ("Where is Mary?"), and so do 6, 9 and 10 ("Is Mary in the office?")."""
    text = question.strip().lower().removesuffix("?")
    return next((tasks for form, tasks in QUESTION_FORMS.items() if form.fullmatch(text)), ())


@dataclass(frozen=True)
class Line:
    """One line of a story: a statement, or a question with its answer and supporting line IDs."""

    id: int
    text: str
    answer: str | None = None
    supports: tuple[int, ...] = ()

    @property
    def is_question(self) -> bool:
        return self.answer is not None

    def render(self) -> str:
        if self.answer is None:
            return f"{self.id} {self.text}"
        return f"{self.id} {self.text}\t{self.answer}\t{' '.join(map(str, self.supports))}"


Story = tuple[Line, ...]


def task_file_name(task: int, split: str, *, with_name: bool) -> str:
    """``qa1_single-supporting-fact_train.txt`` (``en/`` layouts) or ``qa1_train.txt`` (``en-valid/``)."""
    if task not in TASK_NAMES:
        raise ValueError(f"bAbI tasks are numbered 1-20, not {task}")
    stem = f"qa{task}_{TASK_NAMES[task]}" if with_name else f"qa{task}"
    return f"{stem}_{split}.txt"


# ---------------------------------------------------------------------------- reading
def parse_lines(path: Path, text: str) -> list[Story]:
    """Parse the text of one task file into stories; :class:`DataFormatError` names file and line."""
    stories: list[Story] = []
    current: list[Line] = []
    named = _TASK_PREFIX.match(Path(path).name)
    task = int(named.group(1)) if named else None
    lines = text.split("\n")
    if lines[-1] != "":
        if text:
            raise DataFormatError(path, "the last line has no final newline: is the file truncated?")
    else:
        lines.pop()  # the final newline

    def fail(problem: str) -> DataFormatError:
        return DataFormatError(path, problem, record=where)  # about the line being read

    for number, raw in enumerate(lines, start=1):
        where = f"line {number}"
        raw = raw.removesuffix("\r")
        if len(raw) > MAX_LINE_LENGTH:
            raise fail(f"a line of {len(raw):,} characters (at most {MAX_LINE_LENGTH:,} are accepted)")
        if not raw.strip():
            raise fail("empty line (expected 'ID text' or 'ID question<TAB>answer<TAB>ids')")
        head, space, rest = raw.partition(" ")
        if not space or not _ID.fullmatch(head) or not rest.strip():
            raise fail(f"expected 'ID text' with a positive integer ID, got {shorten(raw)}")
        line_id = int(head)
        if line_id == 1:
            if current:
                stories.append(tuple(current))
            current = []
        elif line_id != len(current) + 1:
            raise fail(
                f"line ID {line_id} breaks the sequence: expected {len(current) + 1} (or 1 to start a new story)"
            )
        line = _parse_body(fail, line_id, rest)
        for support in line.supports:
            if current[support - 1].is_question:
                raise fail(f"supporting fact ID {support} is a question, not a statement of this story")
        # Only a form known to belong to other tasks stops the file: a form no template anticipated
        # (a real file may hold one) is no evidence of a misplaced file.
        asked = question_tasks(line.text) if line.is_question and task in TASK_NAMES else ()
        if asked and task not in asked:
            raise fail(
                f"{shorten(line.text.strip())} is a task {'/'.join(map(str, asked))} question, not a task "
                f"{task} ({TASK_NAMES[task]}) one: is a file of another task in this folder?"
            )
        current.append(line)
    if current:
        if not current[-1].is_question and task not in MAY_END_WITH_STATEMENT:
            raise fail("the last story ends with a statement, not a question: is the file truncated?")
        stories.append(tuple(current))
    if not stories:
        raise DataFormatError(path, "no stories in the file")
    return stories


def _parse_body(fail: Callable[[str], DataFormatError], line_id: int, rest: str) -> Line:
    """One line after its ID: a statement, or a question with its answer and supporting IDs."""
    if "\t" not in rest:
        if "?" in rest or rest.split(maxsplit=1)[0].lower() in _QUESTION_WORDS:
            raise fail("a question without its answer and supporting IDs (TAB-separated): is the file truncated?")
        return Line(line_id, rest)
    fields = rest.split("\t")
    if len(fields) != 3:
        raise fail(f"a question line needs 3 TAB-separated fields (question, answer, ids), got {len(fields)}")
    question, answer, ids = fields
    if not question.strip():
        raise fail("empty question")
    if not answer or answer != answer.strip() or " " in answer:
        raise fail(f"bad answer {shorten(answer)} (one token, or tokens joined by commas)")
    if answer.lower() not in ANSWER_INDEX:
        raise fail(
            f"answer {shorten(answer)} is not one of the answers of the English bAbI v1.2 tasks "
            "(relnet's answer vocabulary): no model could give it"
        )
    supports = []
    for token in ids.split():
        if not _ID.fullmatch(token):
            raise fail(f"supporting fact ID {shorten(token)} is not a positive integer")
        support = int(token)
        if not 1 <= support < line_id:
            raise fail(f"supporting fact ID {support} is not an earlier line of this story (1-{line_id - 1})")
        supports.append(support)
    if not supports:
        raise fail("a question without supporting IDs: is the file truncated?")
    return Line(line_id, question, answer, tuple(supports))


def read_task_file(path: Path) -> list[Story]:
    """Read and validate one ``qaN_*.txt`` file."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise DataFormatError(path, "file not found") from None
    except UnicodeDecodeError as error:
        raise DataFormatError(path, f"not UTF-8 text ({error})") from None
    return parse_lines(path, text)


def write_task_file(path: Path, stories: list[Story]) -> Path:
    """Write stories in the v1.2 format (``\\n`` line ends, a final newline)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(line.render() + "\n" for story in stories for line in story)
    path.write_bytes(text.encode("utf-8"))
    return path


# ---------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class TaskFiles:
    """The files of one task in one data folder; ``valid`` is None where the layout has none."""

    task: int
    train: Path | None
    valid: Path | None
    test: Path | None


def resolve_data_dir(root: Path) -> Path:
    """The folder holding the ``qaN_*.txt`` files: ``root`` itself, or its preferred v1.2 sub-folder.

    ``root`` may be a layout folder (``en-10k/``), the archive folder (``tasks_1-20_v1-2/``) or a
    folder that contains the archive folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataFormatError(root, "not a folder (expected a bAbI folder such as tasks_1-20_v1-2/en-10k)")
    for candidate in (root, *(base / layout for base in (root, root / "tasks_1-20_v1-2") for layout in LAYOUTS)):
        if candidate.is_dir() and any(_FILE_PATTERN.match(path.name) for path in candidate.iterdir()):
            return candidate
    raise DataFormatError(
        root, f"no bAbI task files (qaN_*_train.txt / qaN_*_test.txt) here or in {', '.join(LAYOUTS)}"
    )


def task_files(data_dir: Path) -> list[TaskFiles]:
    """Every task found in ``data_dir`` (a layout folder), in task order."""
    found: dict[int, dict[str, Path]] = {}
    for path in sorted(Path(data_dir).iterdir()):
        match = _FILE_PATTERN.match(path.name)
        if not match:
            continue  # README, out.txt and the like
        task, name, split = int(match.group(1)), match.group(2), match.group(3)
        if task not in TASK_NAMES:
            raise DataFormatError(path, f"task number {task} is outside 1-20")
        if name is not None and name != TASK_NAMES[task]:
            raise DataFormatError(path, f"task {task} is called {TASK_NAMES[task]!r}, not {shorten(name)}")
        if split in found.setdefault(task, {}):
            raise DataFormatError(path, f"a second {split} file for task {task} (also {found[task][split].name})")
        found[task][split] = path
    return [
        TaskFiles(task, files.get("train"), files.get("valid"), files.get("test"))
        for task, files in sorted(found.items())
    ]


def split_valid(stories: list[Story]) -> tuple[list[Story], list[Story]]:
    """The v1.2 ``en-valid`` rule relnet uses where a layout has no valid file: last 10% of stories."""
    count = max(1, round(len(stories) * VALID_FRACTION)) if len(stories) > 1 else 0
    return stories[: len(stories) - count], stories[len(stories) - count :]


def read_split(root: Path, split: str) -> dict[int, list[Story]]:
    """``{task: stories}`` of one split (``train``, ``val`` or ``test``) of a bAbI folder.

    Without ``qaN_valid.txt`` files (``en/``, ``en-10k/``), ``val`` is the last 10% of each train
    file's stories and ``train`` the rest.
    """
    if split not in FILE_SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(FILE_SPLITS)}")
    data_dir = resolve_data_dir(root)
    result: dict[int, list[Story]] = {}
    for files in task_files(data_dir):
        path = {"train": files.train, "val": files.valid or files.train, "test": files.test}[split]
        if path is None:
            raise DataFormatError(data_dir, f"task {files.task} has no {FILE_SPLITS[split]} file")
        stories = read_task_file(path)
        if split != "test" and files.valid is None:
            stories = split_valid(stories)[0 if split == "train" else 1]
        result[files.task] = stories
    if not result:
        raise DataFormatError(data_dir, "no bAbI task files found")
    return result
