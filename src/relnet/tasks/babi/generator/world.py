"""A small simulated world of people, places and items: moves, pick-ups, drops and gives.

Every action writes one statement through a :class:`StoryBuilder` and records the line IDs that
later questions cite as supporting facts: a person's last move, an item's last handling, the places
an item passed through (with the moves that carried it), everything a person handled, every give.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from relnet.tasks.babi.generator.story import DROP_VERBS, GET_VERBS, GIVE_VERBS, StoryBuilder, move_text, other, pick


@dataclass(frozen=True)
class Give:
    line: int
    giver: str
    item: str
    receiver: str


@dataclass
class ActorWorld:
    rng: random.Random
    story: StoryBuilder
    people: tuple[str, ...]
    places: tuple[str, ...]
    items: tuple[str, ...]
    max_carry: int = 3
    #: person → current place, and the line that put them there
    place: dict[str, str] = field(default_factory=dict)
    moved_at: dict[str, int] = field(default_factory=dict)
    #: item → holder (absent when lying somewhere), place where it lies, its last get/drop/give line
    holder: dict[str, str] = field(default_factory=dict)
    lies_at: dict[str, str] = field(default_factory=dict)
    handled_at: dict[str, int] = field(default_factory=dict)
    #: item → the dropper's last move when it was dropped (task 2's second support)
    dropped_after_move: dict[str, int] = field(default_factory=dict)
    #: item → [(place, line of the move that brought it there)], task 3
    trail: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    #: person → items carried (in pick-up order), and every line where they handled an item
    carrying: dict[str, list[str]] = field(default_factory=dict)
    handling: dict[str, list[int]] = field(default_factory=dict)
    #: people who picked up, dropped or gave something themselves, in the order they first did
    agents: list[str] = field(default_factory=list)
    gives: list[Give] = field(default_factory=list)

    # -------------------------------------------------------------- actions
    def move(self, person: str) -> int:
        destination = other(self.rng, self.places, self.place.get(person))
        line = self.story.say(move_text(self.rng, person, destination))
        self.place[person], self.moved_at[person] = destination, line
        for item in self.carrying.get(person, []):
            self.trail.setdefault(item, []).append((destination, line))
        return line

    def can_get(self, person: str) -> list[str]:
        if person not in self.place or len(self.carrying.get(person, [])) >= self.max_carry:
            return []
        here = self.place[person]
        return [item for item in self.items if item not in self.holder and self.lies_at.get(item, here) == here]

    def get(self, person: str, item: str) -> int:
        there = " there" if self.rng.random() < 0.6 else ""
        line = self.story.say(f"{person} {pick(self.rng, GET_VERBS)} the {item}{there}.")
        here = self.place[person]
        trail = self.trail.setdefault(item, [])
        if not trail or trail[-1][0] != here:
            trail.append((here, self.moved_at[person]))
        self.holder[item] = person
        self.lies_at.pop(item, None)
        self.carrying.setdefault(person, []).append(item)
        self._handled(person, item, line)
        return line

    def drop(self, person: str, item: str) -> int:
        there = " there" if self.rng.random() < 0.3 else ""
        line = self.story.say(f"{person} {pick(self.rng, DROP_VERBS)} the {item}{there}.")
        del self.holder[item]
        self.lies_at[item] = self.place[person]
        self.dropped_after_move[item] = self.moved_at[person]
        self.carrying[person].remove(item)
        self._handled(person, item, line)
        return line

    def receivers(self, giver: str) -> list[str]:
        """People who can take an item from ``giver``: in the same place, or not yet placed."""
        if not self.carrying.get(giver):
            return []
        return [
            person
            for person in self.people
            if person != giver
            and self.place.get(person, self.place[giver]) == self.place[giver]
            and len(self.carrying.get(person, [])) < self.max_carry
        ]

    def give(self, giver: str, item: str, receiver: str) -> int:
        line = self.story.say(f"{giver} {pick(self.rng, GIVE_VERBS)} the {item} to {receiver}.")
        if receiver not in self.place:
            self.place[receiver], self.moved_at[receiver] = self.place[giver], self.moved_at[giver]
        self.carrying[giver].remove(item)
        self.carrying.setdefault(receiver, []).append(item)
        self.holder[item] = receiver
        self._handled(giver, item, line)
        self.handling.setdefault(receiver, []).append(line)
        self.gives.append(Give(line, giver, item, receiver))
        return line

    def _handled(self, person: str, item: str, line: int) -> None:
        self.handled_at[item] = line
        self.handling.setdefault(person, []).append(line)
        if person not in self.agents:
            self.agents.append(person)

    # -------------------------------------------------------------- random steps
    def step(self, *, get: float = 0.0, drop: float = 0.0, give: float = 0.0) -> int:
        """One random action: a give, drop or pick-up with the given weights where possible, else a move."""
        weighted = ((1.0, "move"), (get, "get"), (drop, "drop"), (give, "give"))
        choices: list[tuple[float, str]] = [(weight, name) for weight, name in weighted if weight]
        action = self.rng.choices([name for _, name in choices], weights=[w for w, _ in choices])[0]
        person = pick(self.rng, self.people)
        if action == "get":
            getters = [p for p in self.people if self.can_get(p)]
            if getters:
                person = pick(self.rng, getters)
                return self.get(person, pick(self.rng, self.can_get(person)))
        elif action == "drop":
            droppers = [p for p in self.people if self.carrying.get(p)]
            if droppers:
                person = pick(self.rng, droppers)
                return self.drop(person, pick(self.rng, self.carrying[person]))
        elif action == "give":
            givers = [p for p in self.people if p in self.place and self.receivers(p)]
            if givers:
                giver = pick(self.rng, givers)
                return self.give(giver, pick(self.rng, self.carrying[giver]), pick(self.rng, self.receivers(giver)))
        return self.move(person)
