"""Generator fidelity: relnet's bAbI stories carry no shortcut the real v1.2 stories lack.

Each check runs a trivial shortcut model (or counts a structural property) on generated stories and
compares it with the value it has on the real data. The real values are worked out below from the real
task's structure (the official generator's world model in facebookarchive/bAbI-tasks, checked against
the real stories in ../shared/reference/babi-examples.txt and the few others quoted in docs/babi.md),
not measured on real files, which are not available here.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from relnet.tasks.babi.fidelity import (
    FACT4,
    KIND,
    animals_and_colours,
    last_place_guess,
    literal_match,
    majority_colour,
    negates_last_place,
    position_accuracy,
    question_gaps,
    question_words_accuracy,
    questions,
    share,
    task_shortcuts,
)
from relnet.tasks.babi.format import Story
from relnet.tasks.babi.generator import make_stories, stream
from relnet.tasks.babi.stats import comparison, question_form, task_stats

#: Questions per task and split: a measured share p is within ±0.05 of its expectation at more than 4
#: standard deviations on the test split; a shortcut learned on the training split is scored on the test one.
QUESTIONS = {"train": 1_000, "test": 2_000}
SEED = 11
TOLERANCE = 0.05


class Generated(dict[int, dict[str, list[Story]]]):
    """``stories[task][split]``, each task generated on first use."""

    def __missing__(self, task: int) -> dict[str, list[Story]]:
        self[task] = {split: make_stories(task, count, stream(SEED, task, split)) for split, count in QUESTIONS.items()}
        return self[task]


@pytest.fixture(scope="module")
def stories() -> Generated:
    return Generated()


# ---------------------------------------------------------------------------- every task: question words
# The answer is independent of the question's words in these tasks, so any fixed guess per question text
# scores the share of the answer it guesses: 1/6 where the answer is one of six places (1, 2, 11-13),
# 1/5 where it is one of the five places other than the one asked about (3, 4, 14), 1/4 for one of four
# animals or colours (15, 16), 1/2 for yes/no questions answered yes half the time (6, 17) and 5/8 for
# task 9's "no" (3/4 of the facts are affirmative, and half of the questions about them ask another place).
QUESTION_WORDS_CHANCE = {1: 1 / 6, 2: 1 / 6, 3: 1 / 5, 4: 1 / 5, 6: 1 / 2, 9: 5 / 8, 11: 1 / 6, 12: 1 / 6,
                         13: 1 / 6, 14: 1 / 5, 15: 1 / 4, 16: 1 / 4, 17: 1 / 2}  # fmt: skip


@pytest.mark.parametrize("task", sorted(QUESTION_WORDS_CHANCE))
def test_question_words_alone_are_at_chance(stories: dict, task: int) -> None:
    accuracy = question_words_accuracy(stories[task]["train"], stories[task]["test"])
    assert accuracy == pytest.approx(QUESTION_WORDS_CHANCE[task], abs=TOLERANCE)


# ---------------------------------------------------------------------------- task 4: two-argument relations
_OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}
_AXIS = {"north": "ns", "south": "ns", "east": "ew", "west": "ew"}


def test_task4_literal_match_finds_the_answer_half_the_time(stories: dict) -> None:
    """Each fact is told from either end (even odds) and each of the four question templates matches only
    one of the two phrasings, so a literal match exists for exactly half of the real questions; when it
    exists it is right. The other half need the inverse relation (north of ⇔ south of)."""
    found = [(literal_match(told, q), q.answer) for told, q in questions(stories[4]["test"])]
    assert share([guess is not None for guess, _ in found]) == pytest.approx(0.5, abs=TOLERANCE)
    assert all(guess == answer for guess, answer in found if guess is not None)


def test_task4_position_shortcut_is_at_chance(stories: dict) -> None:
    """The last word of either fact: 1/2 if the fact links the asked pair (its object is either end of
    the pair, the answer too), 1/4 if it is the other fact (both must be the middle): 3/8."""
    _, accuracy = position_accuracy(stories[4]["train"], stories[4]["test"])
    assert accuracy == pytest.approx(3 / 8, abs=TOLERANCE)


def test_task4_stories_are_a_chain_on_one_axis(stories: dict) -> None:
    """Three places on one axis, each fact links the middle one to an end, the ends lie on opposite sides
    of it, and the question links the middle place to one end; the answer is the middle place half the time."""
    middle_answers = []
    for told, question in questions(stories[4]["test"]):
        assert len(told) == 2 and question.supports[0] in (1, 2) and len(question.supports) == 1
        # "a is d of b" as (a, d, b) told from a's side: a lies d of b.
        facts = []
        for line in told:
            a, d, b = FACT4.fullmatch(line.text).groups()
            facts.append((a, d, b) if d in ("north", "east") else (b, _OPPOSITE[d], a))
        (a1, d1, b1), (a2, d2, b2) = facts
        assert d1 == d2, "both facts on one axis"
        assert len({a1, b1, a2, b2}) == 3
        middle = ({a1, b1} & {a2, b2}).pop()
        assert (a1 == middle) != (a2 == middle), "a chain: the middle place lies between the two ends"
        asked = {w for w in re.findall(r"\w+", question.text)} & {a1, b1, a2, b2}
        assert len(asked) == 1 and _AXIS[d1] == _AXIS[next(w for w in _OPPOSITE if w in question.text)]
        middle_answers.append(question.answer == middle)
    assert share(middle_answers) == pytest.approx(0.5, abs=TOLERANCE)


# ---------------------------------------------------------------------------- task 9: simple negation
def test_task9_answers_and_negations(stories: dict) -> None:
    """Three facts in four are affirmative; a question about an affirmed place is "yes", about any other
    place "no", and half the questions about an affirmative fact ask another place: "yes" 3/8. A negation
    tells that a person left where they were ("Mary is no longer in the bedroom"): when the person's last
    fact was affirmative, it negates that very place (both such cases in the real example story)."""
    answers = [question.answer == "yes" for _, question in questions(stories[9]["test"])]
    assert share(answers) == pytest.approx(3 / 8, abs=TOLERANCE)
    assert share(negates_last_place(stories[9]["test"])) == 1.0


def test_task9_last_place_shortcut_misses_the_negations(stories: dict) -> None:
    """'Yes if the person's latest fact names the asked place' ignores the negation: right on the
    affirmative facts (3/4 of the questions), wrong on all questions about a negative fact (1/4): 3/4."""
    hits = [last_place_guess(told, q) == q.answer for told, q in questions(stories[9]["test"])]
    assert share(hits) == pytest.approx(3 / 4, abs=TOLERANCE)


# ---------------------------------------------------------------------------- task 16: basic induction
def test_task16_majority_colour_is_at_its_real_chance(stories: dict) -> None:
    """Real stories (all five quoted in docs/babi.md) hold five people of three animals: the asked one and
    one witness share an animal, two others share a second animal, one has a third; the four colours are
    per animal, each one of four. The most frequent colour (the pair's) is the answer when the witness's
    colour equals it (1/4), or ties with it (witness colour = third colour ≠ pair colour: 3/4 · 1/4, half
    won): 1/4 + 3/32 = 11/32. Where the asked animal is drawn in proportion to how many people have it,
    the majority colour wins far more often."""
    hits = [majority_colour(told) == question.answer for told, question in questions(stories[16]["test"])]
    assert share(hits) == pytest.approx(11 / 32, abs=TOLERANCE)


def test_task16_structure(stories: dict) -> None:
    """One witness for the asked animal, a pair of another animal, a single third animal; the asked
    person's statement is the last one in 3 of the 5 real stories, elsewhere in the other two; every
    colour is told after its owner's animal."""
    last = []
    for told, question in questions(stories[16]["test"]):
        kinds, colours = animals_and_colours(told)
        asked = re.fullmatch(r"What color is (\w+)\?", question.text).group(1)
        assert asked in kinds and asked not in dict(colours) and len(kinds) == 5 and len(colours) == 4
        witnesses = [name for name, kind in kinds.items() if kind == kinds[asked] and name != asked]
        assert len(witnesses) == 1 and dict(colours)[witnesses[0]] == question.answer
        assert sorted(Counter(kinds.values()).values()) == [1, 2, 2]
        order = [re.match(r"\w+", line.text).group() for line in told]
        assert all(KIND.fullmatch(told[order.index(name)].text) for name in dict(colours))
        last.append(order[-1] == asked)
    assert share(last) == pytest.approx(3 / 5, abs=TOLERANCE)


# ---------------------------------------------------------------------------- tasks 7 and 8: counting, lists
@pytest.mark.parametrize("task", [7, 8])
def test_counting_questions_come_every_two_statements(stories: dict, task: int) -> None:
    """Five questions a story, the first soon after the first pick-up (at once or one statement later in
    the two real stories), then every two statements (8 of the 9 gaps of the real stories; one is 4)."""
    complete = stories[task]["test"][:-1]  # the last story may be cut short
    assert all(sum(line.is_question for line in story) == 5 for story in complete)
    gaps = question_gaps(complete)
    assert set(gaps) <= {2, 4} and gaps[2] / sum(gaps.values()) > 0.8


# ---------------------------------------------------------------------------- tasks 11-13, 20
def _places(text: str) -> list[str]:
    return re.findall(r"the (\w+)\.", text)


def test_coreference_rounds_move_somewhere_new(stories: dict) -> None:
    """Tasks 11 and 13: the second move of a round goes to another place than the first (a move to where
    one already is is not a valid action in the official generator)."""
    for task in (11, 13):
        for story in stories[task]["test"]:
            for first, second in zip(story[0::3], story[1::3], strict=True):
                assert _places(first.text) != _places(second.text)


def test_conjunction_rounds_ask_about_who_just_moved(stories: dict) -> None:
    """Task 12: the two pairs of a round go to two different places and the question asks about one of
    the round's four movers (all five questions of the real example story do)."""
    for story in stories[12]["test"]:
        for first, second, question in zip(story[0::3], story[1::3], story[2::3], strict=True):
            assert _places(first.text) != _places(second.text)
            movers = re.findall(r"[A-Z]\w+", first.text + " " + second.text)
            assert re.fullmatch(r"Where is (\w+)\? ", question.text).group(1) in movers


def test_conjunction_position_shortcut_is_at_its_real_chance(stories: dict) -> None:
    """Task 12: the place of the round's second statement answers when the asked person is in the second
    pair (1/2) or in both pairs (1/2 of the first pair's people are in the second too): 1/2 + 1/4."""
    back, accuracy = position_accuracy(stories[12]["train"], stories[12]["test"])
    assert back == 1 and accuracy == pytest.approx(3 / 4, abs=TOLERANCE)


def test_sizes_keep_the_chocolates_smallest(stories: dict) -> None:
    """Task 18: the chocolate is the smallest thing and the box of chocolates the next (the official
    world's sizes; all 15 facts and 3 questions of the three real stories quoted in docs/babi.md agree)."""
    rank = {"chocolate": 0, "box of chocolates": 1}
    for story in stories[18]["test"]:
        for line in story:
            if line.is_question:
                x, y = re.fullmatch(r"(?:Does|Is) the (.+?) (?:fit in|bigger than) the (.+)\?", line.text).groups()
                small, big = (x, y) if (line.answer == "yes") == line.text.startswith("Does") else (y, x)
            elif match := re.fullmatch(r"The (.+) fits inside the (.+)\.", line.text):
                small, big = match.groups()
            else:
                big, small = re.fullmatch(r"The (.+) is bigger than the (.+)\.", line.text).groups()
            assert rank.get(small, 2) <= rank.get(big, 2) and small != big


def test_paths_are_a_route_with_rooms_off_it(stories: dict) -> None:
    """Task 19: six rooms, five facts: the asked two-step route and three rooms off it, hung on the route
    (all nine of the three real stories quoted in docs/babi.md) or, at most one, on another of them."""
    for told, question in questions(stories[19]["test"]):
        links = [re.fullmatch(r"The (\w+) is \w+ of the (\w+)\.", line.text).groups() for line in told]
        start, end = re.fullmatch(r"How do you go from the (\w+) to the (\w+)\?", question.text).groups()
        assert len(links) == 5 and len({room for link in links for room in link}) == 6
        route = {start, end} | {room for link in links for room in link if {room, start} in map(set, links)
                                and {room, end} in map(set, links)}  # fmt: skip
        assert len(route) == 3
        assert sum(not set(link) & route for link in links) <= 1


def test_motivation_statements_are_each_followed_by_a_question(stories: dict) -> None:
    """Task 20: every statement is followed by a question about it (11 of 11 in the real example)."""
    for story in stories[20]["test"]:
        kinds = [line.is_question for line in story]
        assert kinds == [False, True] * (len(kinds) // 2)


# ---------------------------------------------------------------------------- the statistics to compare with
def test_statistics_show_the_task_structure(stories: dict) -> None:
    """``relnet inspect babi`` reports what the checks above rest on: task 4's eight question forms (four
    templates, two direction words each, as often), one supporting fact one or two statements back."""
    assert question_form("Is the pink rectangle to the left of the blue square?") == "is the _ to the left of the _"
    four = task_stats(stories[4]["test"])
    assert len(four["question_forms"]) == 8 and all(0.08 < s < 0.17 for s in four["question_forms"].values())
    assert four["questions_per_story"]["mean"] == 1 and four["support_distance"]["max"] == 2
    assert four["answer_entropy_bits"] == pytest.approx(2.585, abs=0.02)  # six places, as often each
    nine = task_stats(stories[9]["test"])
    assert nine["questions_per_story"] == {"min": 5, "mean": 5.0, "max": 5} and nine["support_distance"]["min"] == 1
    report = {"data_dir": "x", "splits": {"test": {"tasks": {"4": four, "9": nine}}}}
    table = comparison(report, report, "test")
    assert table.count("\n| ") == 3 and "| 4 | 1.0 / 1.0 | 2.0 / 2.0 |" in table


def test_the_shortcut_report_runs_on_any_folder(stories: dict) -> None:
    """``python -m relnet.tasks.babi.fidelity DIR`` reports these scores for a real folder as well."""
    scores = task_shortcuts(4, stories[4]["train"], stories[4]["test"])
    assert scores["literal_found"] == pytest.approx(0.5, abs=TOLERANCE) and scores["position_k"] in (1, 2)
    assert set(task_shortcuts(16, stories[16]["train"], stories[16]["test"])) >= {"majority_colour", "asked_last"}
