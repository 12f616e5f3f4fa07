"""bAbI v1.2 reader and writer: real stories parse, round trips are byte-exact, bad files name file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from relnet.errors import DataFormatError
from relnet.tasks.babi.format import (
    parse_lines,
    question_tasks,
    read_split,
    read_task_file,
    resolve_data_dir,
    task_file_name,
    write_task_file,
)
from relnet.tasks.babi.stats import dataset_stats
from relnet.tasks.babi.vocab import ANSWER_INDEX, WORD_INDEX, tokenize

# The first stories of the real en/ train files of tasks 1, 8 and 19 (bAbI v1.2, CC BY 3.0).
REAL = {
    1: "1 Mary moved to the bathroom.\n2 John went to the hallway.\n3 Where is Mary? \tbathroom\t1\n"
    "4 Daniel went back to the hallway.\n5 Sandra moved to the garden.\n6 Where is Daniel? \thallway\t4\n",
    8: "1 Mary moved to the bathroom.\n2 Sandra journeyed to the bedroom.\n3 Mary got the football there.\n"
    "4 John went to the kitchen.\n5 What is Mary carrying? \tfootball\t3\n6 John went to the bedroom.\n"
    "7 Mary dropped the football.\n8 What is Mary carrying? \tnothing\t3 7\n",
    19: "1 The office is east of the hallway.\n2 The kitchen is north of the office.\n"
    "3 The garden is west of the bedroom.\n4 The office is west of the garden.\n"
    "5 The bathroom is north of the garden.\n6 How do you go from the kitchen to the garden?\ts,e\t2 4\n",
}
EXAMPLES = Path("/work/shared/reference/babi-examples.txt")


def test_real_stories_parse() -> None:
    stories = parse_lines(Path("qa8.txt"), REAL[8] + REAL[8])
    assert len(stories) == 2 and len(stories[0]) == 8
    question = stories[0][7]
    assert question.is_question and question.answer == "nothing" and question.supports == (3, 7)
    assert question.text == "What is Mary carrying? "  # kept byte for byte
    path = parse_lines(Path("qa19.txt"), REAL[19])[0][-1]
    assert (path.answer, path.supports) == ("s,e", (2, 4))


@pytest.mark.skipif(not EXAMPLES.is_file(), reason="reference examples not available")
def test_every_reference_example_parses_with_known_words_and_answers() -> None:
    sections = EXAMPLES.read_text().split("\n== ")[1:]
    assert len(sections) == 20
    for section in sections:
        name, _, body = section.partition("\n")
        stories = parse_lines(Path(name), body.strip("\n") + "\n")
        assert len(stories) == 1
        for line in stories[0]:
            assert all(word in WORD_INDEX for word in tokenize(line.text)), line.text
            if line.is_question:
                assert line.answer.lower() in ANSWER_INDEX, line.answer


def test_write_read_round_trip_is_byte_exact(tmp_path: Path) -> None:
    original = tmp_path / "qa1_single-supporting-fact_train.txt"
    original.write_text(REAL[1] + REAL[1])
    copy = write_task_file(tmp_path / "copy.txt", read_task_file(original))
    assert copy.read_bytes() == original.read_bytes()


def test_windows_line_ends_are_accepted() -> None:
    stories = parse_lines(Path("x.txt"), REAL[1].replace("\n", "\r\n"))
    assert stories[0][2].answer == "bathroom"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("1 Mary moved.\nx John went.\n", 2, "positive integer ID"),
        ("1 Mary moved.\n3 John went.\n", 2, "expected 2"),
        ("1 Mary moved.\n\n2 John went.\n", 2, "empty line"),
        ("1 Mary moved.\n2 Where is Mary?\tbathroom\n", 2, "3 TAB-separated fields"),
        ("1 Mary moved.\n2 Where is Mary?\t\t1\n", 2, "bad answer"),
        ("1 Mary moved.\n2 Where is Mary?\tbath room\t1\n", 2, "bad answer"),
        ("1 Mary moved.\n2 Where is Mary?\tbathroom\t2\n", 2, "not an earlier line"),
        ("1 Mary moved.\n2 Where is Mary?\tbathroom\tone\n", 2, "not a positive integer"),
        ("1 Mary moved.\n1 John went.\n2 Where is Mary?\tkitchen\t3\n", 3, "not an earlier line"),
        ("1\n", 1, "expected 'ID text'"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "qa1_single-supporting-fact_train.txt"
    path.write_text(text)
    with pytest.raises(DataFormatError, match=message) as error:
        read_task_file(path)
    assert str(error.value).startswith(f"{path}, line {line}: ")


def test_empty_and_binary_files_are_rejected(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(DataFormatError, match="no stories"):
        read_task_file(empty)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"1 \xff\xfe\n")
    with pytest.raises(DataFormatError, match="UTF-8"):
        read_task_file(binary)


def _write_layout(folder: Path, with_name: bool, splits: tuple[str, ...]) -> None:
    for task in (1, 19):
        for split in splits:
            (folder / task_file_name(task, split, with_name=with_name)).parent.mkdir(parents=True, exist_ok=True)
            (folder / task_file_name(task, split, with_name=with_name)).write_text(REAL[task] * 10)


def test_layouts_and_the_preferred_folder(tmp_path: Path) -> None:
    archive = tmp_path / "tasks_1-20_v1-2"
    _write_layout(archive / "en", True, ("train", "test"))
    _write_layout(archive / "en-valid-10k", False, ("train", "valid", "test"))
    (archive / "en" / "README").write_text("not a task file")
    assert resolve_data_dir(tmp_path) == archive / "en-valid-10k"
    assert resolve_data_dir(archive / "en") == archive / "en"
    # en/ has no valid files: the last 10% of each train file's stories are held out.
    train, val = read_split(archive / "en", "train"), read_split(archive / "en", "val")
    assert sorted(train) == [1, 19] and (len(train[1]), len(val[1])) == (9, 1)
    assert len(read_split(archive, "val")[19]) == 10  # en-valid-10k's own valid file


def test_layout_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no bAbI task files"):
        resolve_data_dir(tmp_path)
    (tmp_path / "qa1_counting_train.txt").write_text(REAL[1])
    with pytest.raises(DataFormatError, match="called 'single-supporting-fact'"):
        read_split(tmp_path, "train")
    (tmp_path / "qa1_counting_train.txt").rename(tmp_path / "qa1_single-supporting-fact_train.txt")
    with pytest.raises(DataFormatError, match="task 1 has no test file"):
        read_split(tmp_path, "test")


# ---------------------------------------------------------------------------- issue 15's bad inputs
@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        # A supporting ID beyond the story, in the story before, or naming a question line.
        ("1 Mary moved to the office.\n2 Where is Mary? \toffice\t7\n", 2, "supporting fact ID 7 is not an earlier"),
        (REAL[1] + "1 John went to the office.\n2 Where is John? \toffice\t4\n", 8, "not an earlier line of this"),
        (REAL[1] + "7 John went to the office.\n8 Where is John? \toffice\t7 6\n", 8, "ID 6 is a question, not"),
        # A question line that lost its TABs (turned into spaces, or dropped with the question mark).
        ("1 Mary moved to the office.\n2 Where is Mary? office 1\n", 2, "a question without its answer"),
        ("1 Mary moved to the office.\n2 Where is Mary office 1\n", 2, "a question without its answer"),
    ],
)
def test_bad_references_and_lost_tabs_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "qa1_single-supporting-fact_train.txt"
    path.write_text(text)
    with pytest.raises(DataFormatError, match=re.escape(message)) as error:
        read_task_file(path)
    assert str(error.value).startswith(f"{path}, line {line}: ") and "\n" not in str(error.value)


@pytest.mark.skipif(not EXAMPLES.is_file(), reason="reference examples not available")
def test_a_file_of_another_task_stops_at_its_first_question(tmp_path: Path) -> None:
    """Every real example story reads under its own task's name and is refused under any task that asks
    differently (tasks 1/11/12/13 and 6/9/10 ask alike and cannot be told apart by their questions)."""
    alike = [{1, 11, 12, 13}, {6, 9, 10}]
    sections = dict(section.partition("\n")[::2] for section in EXAMPLES.read_text().split("\n== ")[1:])
    for name, body in sections.items():
        own = int(name.removeprefix("qa").partition("_")[0])
        first_question = next(n for n, raw in enumerate(body.strip("\n").split("\n"), start=1) if "\t" in raw)
        for task in range(1, 21):
            path = tmp_path / task_file_name(task, "train", with_name=True)
            path.write_text(body.strip("\n") + "\n")
            if task == own or any({own, task} <= group for group in alike):
                read_task_file(path)
                continue
            with pytest.raises(DataFormatError, match=f"not a task {task} ") as error:
                read_task_file(path)
            assert str(error.value).startswith(f"{path}, line {first_question}: ")
            assert "is a file of another task in this folder?" in str(error.value)


def test_a_misplaced_file_stops_inspect_with_one_line(tmp_path: Path) -> None:
    """What ``relnet inspect babi`` prints (as one line, exit 2: test_babi_models checks the CLI side)."""
    (tmp_path / "qa4_two-arg-relations_train.txt").write_text(REAL[1])
    (tmp_path / "qa4_two-arg-relations_test.txt").write_text(REAL[1])
    with pytest.raises(DataFormatError) as error:
        dataset_stats(tmp_path)
    message = str(error.value)
    assert (
        "\n" not in message
        and "qa4_two-arg-relations_train.txt, line 3: 'Where is Mary?' is a task 1/11/12/13" in message
    )
    assert question_tasks("What is the kitchen north of?") == (4,) and question_tasks("Who are you?") == ()
    # A question form no template has is no evidence of a misplaced file: it reads.
    unusual = tmp_path / "qa1_single-supporting-fact_test.txt"
    unusual.write_text("1 Mary moved to the bathroom.\n2 Whereabouts of Mary?\tbathroom\t1\n")
    assert len(read_task_file(unusual)) == 1
