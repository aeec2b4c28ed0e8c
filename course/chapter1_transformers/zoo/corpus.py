"""The course corpus: simple English stories from a seeded grammar (no download, regenerated in seconds).

Characters meet, go places, talk, lose and find things, and give things to each other. About one
sentence in ten comes from an indirect-object (IOI) template, the shape part 1.3 studies. The held-out
templates never appear, and the held-out names, objects and places of `world.py` never fill an IOI
template (they do appear in other stories, e.g. as the one something is given back to), so the IOI
evaluation measures generalisation rather than recall."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator

from . import world as w

BOS = "<|endoftext|>"


class StoryWriter:
    """Writes one story at a time from a seeded random generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.all_names = [n for n, _ in w.NAMES]
        self.ioi_names = w.train_ioi_names()
        self.ioi_objects = w.train_ioi_objects()
        self.ioi_places = w.train_ioi_places()
        self.frames: list[tuple[float, Callable[[], list[str]]]] = [
            (4, self.sharing), (2, self.friends), (2, self.lost_and_found), (2, self.dialogue),
            (1.5, self.three_friends), (2, self.solo), (1, self.animal),
        ]

    # -- helpers
    def pick(self, items: list) -> object:
        return self.rng.choice(items)

    def two_names(self, pool: list[str]) -> tuple[str, str]:
        a, b = self.rng.sample(pool, 2)
        return a, b

    def ioi_sentence(self) -> tuple[str, str, str]:
        """An IOI-shaped sentence from the training templates; returns (sentence, subject, receiver)."""
        a, b = self.two_names(self.ioi_names)
        s, io = (b, a) if self.rng.random() < 0.5 else (a, b)
        verb, prep = self.pick(w.GIVE_VERBS)
        family = self.rng.choices([f for _, f in w.IOI_TEMPLATE_FAMILIES],
                                  weights=[p for p, _ in w.IOI_TEMPLATE_FAMILIES])[0]
        sentence = self.pick(family).format(
            A=a, B=b, S=s, IO=io, verb=verb, prep=prep, obj=self.pick(self.ioi_objects),
            place=self.pick(self.ioi_places), day=self.pick(w.WEEKDAYS))
        return sentence, s, io

    # -- story frames
    def sharing(self) -> list[str]:
        sentence, s, io = self.ioi_sentence()
        thanks = self.pick([
            f'{io} said, "Thank you, {s}!"', f"{io} smiled at {s}.", f"{io} was very {self.pick(w.FEELINGS)}.",
            f"It was a good day for {io} and {s}.", f'"You are kind," said {io}.',
        ])
        out = [sentence, thanks]
        if self.rng.random() < 0.4:
            out.append(self.pick(["Then they went home.", "They played until it was dark.",
                                  f"After that, they {self.pick(w.ACTIVITIES)[0]}."]))
        return out

    def friends(self) -> list[str]:
        a, b = self.two_names(self.all_names)
        place, act = self.pick(w.PLACES), self.pick(w.ACTIVITIES)[0]
        pa = w.PRONOUN[a]
        return [
            self.pick([f"{a} and {b} were best friends.", f"{a} had a friend named {b}.",
                       f"Once upon a time, {a} and {b} lived in a small town."]),
            self.pick([f"Every {self.pick(w.WEEKDAYS)}, they went to the {place}.",
                       f"One day, they went to the {place} together.", f"They liked to visit the {place}."]),
            self.pick([f"At the {place}, they {act}.", f"When they got to the {place}, they {act}.",
                       f"They sat down in the {place} and {act}.", f"The day they visited the {place}, they {act}."]),
            self.pick([f"{a} felt {self.pick(w.FEELINGS)}.", f"{pa.capitalize()} laughed with {b}.",
                       f"{b} said, \"Let's come back tomorrow!\"",
                       f"They were tired after the trip to the {place}, so they went home."]),
        ]

    def lost_and_found(self) -> list[str]:
        a, b = self.two_names(self.all_names)
        obj, place = self.pick(w.OBJECTS), self.pick(w.PLACES)
        pa = w.PRONOUN[a]
        return [
            f"{a} lost {w.POSSESSIVE[pa]} {self.pick(w.COLORS)} {obj} at the {place}.",
            f"{pa.capitalize()} looked everywhere, but {pa} could not find it.",
            f"{a} was {self.pick(['sad', 'worried', 'upset'])}.",
            f"Then {b} found the {obj} under a {self.pick(['tree', 'bench', 'table', 'bush'])}.",
            f"{b} gave it back to {a}, and {a} was happy again.",
        ]

    def dialogue(self) -> list[str]:
        a, b = self.two_names(self.all_names)
        obj = self.pick(w.OBJECTS)
        pb = w.PRONOUN[b]
        return [
            f'"Can I have the {obj}?" {a} asked {b}.',
            self.pick([f'"Yes, you can," said {b}.', f'"Of course," {b} said with a smile.',
                       f'"Here you go," said {b}.']),
            f"{b} gave the {obj} to {a}.",
            self.pick([f'"Thank you!" said {a}.', f"{a} hugged {b}.", f"{a} was {self.pick(w.FEELINGS)}."]),
            self.pick(["", f"Then {pb} went home.", f"Later, {a} and {b} {self.pick(w.ACTIVITIES)[0]}."]),
        ]

    def three_friends(self) -> list[str]:
        a, b, c = self.rng.sample(self.all_names, 3)
        place = self.pick(w.PLACES)
        return [
            f"{a}, {b} and {c} went to the {place}.",
            f"{a} and {b} {self.pick(w.ACTIVITIES)[0]}, while {c} {self.pick(w.ACTIVITIES)[0]}.",
            f"Later, {c} gave a {self.pick(w.OBJECTS)} to {self.pick([a, b])}.",
            f"Everyone was {self.pick(w.FEELINGS)}.",
        ]

    def solo(self) -> list[str]:
        a = self.pick(self.all_names)
        p = w.PRONOUN[a]
        place, obj = self.pick(w.PLACES), self.pick(w.OBJECTS)
        verb, _ = self.pick(w.GIVE_VERBS + w.HELDOUT_GIVE_VERBS)
        return [
            self.pick([f"{a} loved the {place}.", f"There was a child named {a}.",
                       f"{a} lived near the {place}."]),
            self.pick([f"Every morning, {p} {self.pick(w.ACTIVITIES)[0]}.",
                       f"{p.capitalize()} had a {self.pick(w.COLORS)} {obj}.",
                       f"{p.capitalize()} {verb} the {obj} to the {place}."]),
            self.pick([f"One day, {a} brought {w.POSSESSIVE[p]} {obj} to the {place}.",
                       f"{a} showed the {obj} to {w.POSSESSIVE[p]} {self.pick(['mom', 'dad', 'teacher'])}.",
                       f"{a} offered to help at the {place}.", f"{a} went to the {place} alone."]),
            f"{p.capitalize()} felt {self.pick(w.FEELINGS)}.",
        ]

    def animal(self) -> list[str]:
        a = self.pick(self.all_names)
        p = w.PRONOUN[a]
        animal, place = self.pick(w.ANIMALS), self.pick(w.PLACES)
        return [
            f"One day, {a} saw a {self.pick(w.COLORS)} {animal} at the {place}.",
            f"The {animal} looked {self.pick(w.FEELINGS)}.",
            self.pick([f"{a} gave it some food.", f"{p.capitalize()} sat next to the {animal}.",
                       f"{a} took the {animal} home."]),
            self.pick([f"The {animal} became {w.POSSESSIVE[p]} friend.", "They were happy together.",
                       f"{a} named it {self.pick(w.COLORS).capitalize()}."]),
        ]

    def story(self) -> str:
        weights = [f for f, _ in self.frames]
        n_frames = self.rng.choice([1, 2, 2, 3])
        sentences: list[str] = []
        for frame in self.rng.choices([f for _, f in self.frames], weights=weights, k=n_frames):
            sentences += [s for s in frame() if s]
        return " ".join(sentences)


def stories(n: int, seed: int = 0) -> Iterator[str]:
    writer = StoryWriter(seed)
    for _ in range(n):
        yield writer.story()


def corpus_text(n_stories: int, seed: int = 0) -> str:
    """The corpus as one string: stories separated by the BOS/EOS token."""
    return "".join(BOS + s for s in stories(n_stories, seed))


def corpus_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
