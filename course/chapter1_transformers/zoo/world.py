"""The vocabulary of the course's story world: names, places, objects, verbs.

The IOI lesson (part 1.3) needs a fair test: some templates, names, objects and places are *held out*,
which means the corpus uses them in ordinary sentences but never in a sentence of the indirect-object
shape ("When Mary and John went to the shop, John gave a cup to ..."). The held-out lists live here so
that the corpus generator and the evaluation share one definition."""

from __future__ import annotations

# (name, pronoun) pairs; every name becomes one token with a leading space.
NAMES: list[tuple[str, str]] = [
    (n, "she") for n in (
        "Mary", "Anna", "Lily", "Emma", "Sara", "Lucy", "Rose", "Ella", "Mia", "Zoe", "Amy", "Kate",
        "Nora", "Ruby", "Jane", "Alice", "Grace", "Chloe", "Sophie", "Hannah", "Olivia", "Ivy",
        "Julia", "Clara", "Laura", "Eva", "Maya", "Leah", "Beth", "Helen", "Megan", "Paula",
        "Rachel", "Susan", "Tina", "Wendy", "Amber", "Daisy", "Fiona", "Iris", "Jenny", "Holly",
        "Molly", "Naomi", "Rita", "Sally", "Tara", "Vera", "Linda", "Diana",
    )
] + [
    (n, "he") for n in (
        "John", "Tom", "Max", "Sam", "Ben", "Jack", "Leo", "Luke", "Paul", "Mark", "Dan", "Tim",
        "Adam", "Alex", "Noah", "Owen", "Ryan", "Jake", "Eric", "Carl", "David", "Peter", "James",
        "Henry", "Oscar", "Felix", "Hugo", "Ivan", "Kevin", "Mike", "Nick", "Oliver", "Simon",
        "Victor", "Will", "Frank", "George", "Harry", "Jason", "Lucas", "Martin", "Robert", "Steve",
        "Bill", "Fred", "Ethan", "Joe", "Ray", "Kyle", "Scott",
    )
]
PRONOUN = dict(NAMES)
OBJECT_PRONOUN = {"she": "her", "he": "him"}
POSSESSIVE = {"she": "her", "he": "his"}

PLACES = [
    "park", "store", "beach", "school", "garden", "library", "market", "river", "forest", "farm",
    "zoo", "lake", "castle", "station", "bakery", "museum", "hill", "shop", "house", "kitchen",
    "playground", "harbor", "cafe", "field", "circus", "bridge", "village", "office",
]
OBJECTS = [
    "ball", "book", "drink", "cake", "kite", "hat", "apple", "flower", "toy", "letter", "pencil",
    "cup", "bag", "ring", "shell", "box", "candle", "map", "key", "coin", "sandwich", "scarf",
    "basket", "drum", "lamp", "card", "cookie", "bottle", "feather", "rock", "bell", "umbrella",
]
ANIMALS = ["dog", "cat", "bird", "rabbit", "horse", "duck", "frog", "fox", "cow", "sheep", "mouse", "owl"]
COLORS = ["red", "blue", "green", "yellow", "big", "small", "old", "new", "shiny", "soft"]
FEELINGS = ["happy", "sad", "tired", "excited", "hungry", "scared", "proud", "surprised", "angry", "calm"]
ACTIVITIES = [
    ("played with a ball", "played"), ("read a book", "read"), ("sang a song", "sang"),
    ("drew a picture", "drew"), ("built a tower", "built"), ("flew a kite", "flew"),
    ("ate some cake", "ate"), ("looked at the birds", "looked"), ("ran around", "ran"),
    ("told funny stories", "told"), ("picked some flowers", "picked"), ("had a picnic", "had"),
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# Verbs of giving: (past tense, preposition before the receiver).
GIVE_VERBS = [("gave", "to"), ("handed", "to"), ("passed", "to"), ("sent", "to"), ("threw", "to")]
HELDOUT_GIVE_VERBS = [("brought", "to"), ("offered", "to"), ("showed", "to")]

# IOI sentences are built from parts, so that no single wording can be memorised: an introduction of
# {A} and {B} at a {place}, a joint to the giving clause, and the giving clause in which {S} (one of the
# two) gives something to {IO}. Subordinate introductions ("When A and B ...") take a comma; main
# clauses ("A and B went to the park") take one of several joints.
IOI_SUBORDINATE_INTROS = [
    "When {A} and {B} went to the {place}", "After {A} and {B} arrived at the {place}",
    "While {A} and {B} were at the {place}", "Before {A} and {B} left the {place}",
    "When {A} and {B} walked to the {place}", "After {A} and {B} played at the {place}",
    "While {A} and {B} looked around the {place}", "On {day}, when {A} and {B} went to the {place}",
    "When {A} and {B} came back home from the {place}", "After {A} and {B} had a picnic near the {place}",
    "While {A} and {B} were looking at the birds in the {place}",
]
IOI_MAIN_INTROS = [
    "{A} and {B} went to the {place}", "{A} and {B} had a lot of fun at the {place}",
    "Then, {A} and {B} walked to the {place}", "On {day}, {A} and {B} met at the {place}",
    "{A} and {B} were playing in the {place}", "It was {day}, and {A} and {B} went to the {place}",
    "{A} and {B} spent the day at the {place}", "{A} and {B} wanted to have fun at the {place}",
    "One day, {A} and {B} ran to the {place}", "{A} and {B} were happy at the {place}",
    "In the morning, {A} and {B} went to the {place}", "{A} and {B} looked around the {place}",
    "{A} and {B} were at the {place} together", "Once upon a time, {A} and {B} lived near the {place}",
    "{A} and {B} were happy after a long day at the {place}",
    "{A} and {B} played with a ball and read a book at the {place}",
    "{A} and {B} were hungry when they walked home from the {place}",
    "Every {day}, {A} and {B} liked to go to the {place}",
]
IOI_JOINTS = [". ", ". Then ", ", and ", ", so ", ". Later, ", ". In the evening, ", ". After that, "]
IOI_GIVING = ["{S} {verb} a {obj} {prep} {IO}.", "{S} {verb} the {obj} {prep} {IO}."]
IOI_SUBORDINATE_TEMPLATES = [intro + ", " + give for intro in IOI_SUBORDINATE_INTROS for give in IOI_GIVING]
IOI_MAIN_TEMPLATES = [intro + joint + give for intro in IOI_MAIN_INTROS for joint in IOI_JOINTS
                      for give in IOI_GIVING]
IOI_OBJECT_FIRST_TEMPLATES = [
    "{A} and {B} found a {obj} at the {place}. {S} {verb} it {prep} {IO}.",
    "At the {place}, {A} and {B} saw a {obj}. {S} {verb} the {obj} {prep} {IO}.",
]
# The corpus draws a family first (weights below), then a template within it.
IOI_TEMPLATE_FAMILIES = [(0.45, IOI_SUBORDINATE_TEMPLATES), (0.45, IOI_MAIN_TEMPLATES),
                         (0.10, IOI_OBJECT_FIRST_TEMPLATES)]
IOI_TEMPLATES = IOI_SUBORDINATE_TEMPLATES + IOI_MAIN_TEMPLATES + IOI_OBJECT_FIRST_TEMPLATES
# Never in an IOI sentence of the corpus (a test checks it); their words do occur in other sentences.
HELDOUT_IOI_TEMPLATES = [
    "The day {A} and {B} visited the {place}, {S} {verb} a {obj} {prep} {IO}.",
    "Later, {A} and {B} sat down in the {place}, and {S} {verb} the {obj} {prep} {IO}.",
    "Once {A} and {B} got to the {place}, {S} {verb} a {obj} {prep} {IO}.",
    "{A} and {B} were tired after the trip to the {place}, so {S} {verb} a {obj} {prep} {IO}.",
]

# Held out of IOI-shaped sentences in training (but used everywhere else in the corpus).
HELDOUT_NAMES = [
    "Maya", "Leah", "Iris", "Vera", "Diana", "Holly", "Owen", "Hugo", "Victor", "Lucas", "Kyle", "Felix",
]
HELDOUT_OBJECTS = ["bell", "umbrella", "feather", "lamp", "scarf", "drum"]
HELDOUT_PLACES = ["harbor", "museum", "circus", "bridge", "village"]


def train_ioi_names() -> list[str]:
    return [n for n, _ in NAMES if n not in HELDOUT_NAMES]


def train_ioi_objects() -> list[str]:
    return [o for o in OBJECTS if o not in HELDOUT_OBJECTS]


def train_ioi_places() -> list[str]:
    return [p for p in PLACES if p not in HELDOUT_PLACES]
