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

# IOI templates: {A} and {B} are introduced, then {S} (one of them) does something for {IO}.
IOI_TEMPLATES = [
    "When {A} and {B} went to the {place}, {S} {verb} a {obj} {prep} {IO}.",
    "{A} and {B} went to the {place}. {S} {verb} a {obj} {prep} {IO}.",
    "After {A} and {B} arrived at the {place}, {S} {verb} the {obj} {prep} {IO}.",
    "While {A} and {B} were at the {place}, {S} {verb} a {obj} {prep} {IO}.",
    "{A} and {B} had a lot of fun at the {place}. {S} {verb} a {obj} {prep} {IO}.",
    "Then, {A} and {B} walked to the {place}, and {S} {verb} a {obj} {prep} {IO}.",
    "On {day}, {A} and {B} met at the {place}. {S} {verb} a {obj} {prep} {IO}.",
    "{A} and {B} found a {obj} at the {place}. {S} {verb} it {prep} {IO}.",
    "{A} and {B} were playing in the {place}. Then {S} {verb} a {obj} {prep} {IO}.",
    "It was {day}. {A} and {B} went to the {place}, and {S} {verb} a {obj} {prep} {IO}.",
    "At the {place}, {A} and {B} saw a {obj}. {S} {verb} the {obj} {prep} {IO}.",
    "{A} and {B} wanted to have fun at the {place}, so {S} {verb} a {obj} {prep} {IO}.",
    "Before {A} and {B} left the {place}, {S} {verb} a {obj} {prep} {IO}.",
    "{A} and {B} spent the day at the {place}. In the evening, {S} {verb} a {obj} {prep} {IO}.",
]
HELDOUT_IOI_TEMPLATES = [
    "The day {A} and {B} visited the {place}, {S} {verb} a {obj} {prep} {IO}.",
    "Later, {A} and {B} sat down in the {place}, and {S} {verb} the {obj} {prep} {IO}.",
    "Once {A} and {B} got to the {place}, {S} {verb} a {obj} {prep} {IO}.",
    "{A} and {B} were tired after the trip to the {place}, so {S} {verb} a {obj} {prep} {IO}.",
]

# Phrases that only the held-out templates contain (a test checks the corpus never has them).
HELDOUT_MARKERS = ["The day ", "sat down in the", "got to the", "tired after the trip"]

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
