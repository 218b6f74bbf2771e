"""Regenerate data/train.jsonl and data/eval.jsonl for the brand-voice example.

Deterministic (seeded `random`, stdlib only):  python make_data.py
Inputs are neutral announcements about Pebble (a journaling and habit app), assembled from
hand-written sentence templates and slot values. Outputs are the same message in the Pebble
voice, produced by the fixed rules in `to_pebble_voice`, so the voice is consistent and learnable:
  1. open with "Heads up, friend: " and close with " Stay pebbly. — Team Pebble";
  2. drop corporate openers ("We are pleased to announce that", "Please note that", ...);
  3. swap stock phrases and vocabulary (users/customers -> friends, issue -> snag,
     update -> refresh, feature -> trick, ...), use contractions;
  4. short sentences: split at ", and "; never an exclamation mark.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

SEED = 31
N_TRAIN, N_EVAL = 300, 100
HERE = Path(__file__).resolve().parent

OPEN = "Heads up, friend: "
CLOSE = " Stay pebbly. — Team Pebble"

VERSIONS = [f"{a}.{b}" for a in (4, 5, 6) for b in range(0, 10)]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
TIMES = ["01:00 to 03:00 UTC", "02:00 to 04:00 UTC", "22:00 to 23:30 UTC", "06:00 to 07:00 UTC",
         "midnight to 02:00 UTC", "03:30 to 05:00 UTC"]
PLATFORMS = ["Android", "iOS", "the web app", "iPad", "the desktop app", "Wear OS watches", "Apple Watch"]
FEATURES = [
    "a dark mode for the journal view", "weekly streak reports", "photo attachments in daily entries",
    "a mood calendar", "shared habit lists", "voice notes", "custom reminder sounds",
    "a focus timer", "home screen widgets", "end-of-month summaries", "tags for journal entries",
    "a gratitude prompt each evening", "habit templates for running and reading",
    "search across all past entries", "an offline mode",
]
SYMPTOMS = [
    "reminders to arrive late", "streaks to reset overnight", "the app to close when opening settings",
    "photos to upload slowly", "widgets to show yesterday's data", "sync to stall after login",
    "the mood calendar to appear empty", "duplicate entries after an export",
]
FIXES_WHEN = ["later this week", "in the next update", "within 48 hours", "by Friday", "in version {v}",
              "early next week"]
PLACES = ["Settings", "the Profile tab", "the menu in the top corner", "the Habits screen", "the Journal tab"]
EXPORTS = ["a PDF", "a CSV file", "plain text", "a Markdown file"]
PRICES = ["2.99 dollars", "3.49 dollars", "4.99 dollars", "29 dollars a year", "39 dollars a year"]
MONTHS = ["March", "April", "May", "June", "July", "September", "October", "November"]

TEMPLATES = {
    "update": [
        "We are pleased to announce that version {v} adds {f}.",
        "Version {v} is now available, and it includes {f}.",
        "The latest update introduces {f}.",
        "We are pleased to announce that you can now use {f} on {p}.",
        "Users on {p} can now try {f}, and the feature is free for everyone.",
        "Version {v} adds {f}, and it also improves battery use on {p}.",
        "The update to version {v} will roll out to all users over the next {n} days.",
        "A new feature, {f}, is being tested with a small group of users.",
        "Pebble for {p} now supports {f}.",
        "Starting today, {f} is included in the free plan.",
        "Version {v} fixes an issue that caused {s}.",
    ],
    "notice": [
        "Please note that the app will be unavailable on {d} from {t} for scheduled maintenance.",
        "Sync will be paused on {d} from {t} while we move to new servers.",
        "Please note that support for {p} versions older than two years will end in {m}.",
        "The Premium plan price will change to {price} on 1 {m}.",
        "Please note that existing customers will keep their current price until {m}.",
        "We are aware of an issue that causes {s} on {p}, and a fix will be released {w}.",
        "An issue with {p} caused {s} yesterday. It has been resolved.",
        "The old web address will stop working in {m}, and bookmarks should be updated.",
        "We would like to remind you that the spring challenge ends on {d}.",
        "Please note that the {m} reading challenge starts on {d}, and sign-ups are open now.",
        "Login with email links will be disabled in {m}. Users should set a password before then.",
        "Our community forum will move to a new address on {d}.",
    ],
    "tip": [
        "Users can export their journal as {e} from {pl}.",
        "You can set a daily reminder from {pl}.",
        "It is possible to pause a habit without losing your streak. Open {pl} and choose Pause.",
        "You can add a photo to any entry by holding the plus button.",
        "We would like to remind you that backups can be turned on in {pl}.",
        "Swiping left on a habit marks it as skipped, and it does not break your streak.",
        "You will find your yearly summary in {pl} at the end of December.",
        "Customers who use two devices should keep sync turned on in {pl}.",
        "Users can change the first day of the week in {pl}.",
        "Holding an entry lets you move it to another day.",
        "You can hide a habit you no longer track from {pl}, and its history will be kept.",
    ],
}
EXTRAS = {
    "update": ["", "", "Thank you for using Pebble!", "We hope you enjoy it!", "Please update the app to get it."],
    "notice": ["", "", "We apologize for any inconvenience.", "Thank you for your patience.",
               "If you have any questions, please contact our support team."],
    "tip": ["", "", "", "We hope this helps!", "If you have any questions, please contact our support team."],
}

# Rule 2: corporate openers that are dropped.
OPENERS = ["We are pleased to announce that ", "Please note that ", "We would like to remind you that "]
# Rule 3: stock phrases and vocabulary, applied in this order (case-sensitive, word-bounded).
PHRASES = [
    ("We apologize for any inconvenience.", "Sorry for the bump."),
    ("Thank you for your patience.", "Thanks for hanging in there."),
    ("If you have any questions, please contact our support team.", "Questions? Just reply to this note."),
    ("We hope you enjoy it!", "Enjoy."),
    ("We hope this helps!", "Hope that helps."),
    ("Thank you for using Pebble!", "Thanks for journaling with us."),
    ("Please update the app to get it.", "Grab the latest version to get it."),
]
WORDS = [
    ("Users", "Friends"), ("users", "friends"), ("Customers", "Friends"), ("customers", "friends"),
    ("an issue", "a snag"), ("An issue", "A snag"), ("issue", "snag"), ("update", "refresh"), ("Update", "Refresh"), ("feature", "trick"),
    ("We are", "We're"), ("It is", "It's"), ("it is", "it's"), ("does not", "doesn't"),
    ("will not", "won't"), ("You will", "You'll"), ("you will", "you'll"), ("has been", "'s been"),
]


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def to_pebble_voice(text: str) -> str:
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    out = []
    for s in sentences:
        for old, new in PHRASES:
            s = s.replace(old, new)
        for opener in OPENERS:
            if s.startswith(opener):
                s = cap(s[len(opener):])
        for old, new in WORDS:
            s = re.sub(rf"\b{re.escape(old)}\b", new, s)
        s = s.replace(" 's been", "'s been")
        s = s.replace("!", ".")
        parts = s.split(", and ")  # Rule 4: short sentences.
        parts = [cap(p.strip()) for p in parts]
        parts = [p if p.endswith((".", "?")) else p + "." for p in parts]
        out.extend(parts)
    body = " ".join(out)
    assert "!" not in body
    return OPEN + body + CLOSE


def fill(rng: random.Random, template: str) -> str:
    return template.format(
        v=rng.choice(VERSIONS), f=rng.choice(FEATURES), p=rng.choice(PLATFORMS), d=rng.choice(DAYS),
        t=rng.choice(TIMES), s=rng.choice(SYMPTOMS), w=rng.choice(FIXES_WHEN).format(v=rng.choice(VERSIONS)),
        pl=rng.choice(PLACES), e=rng.choice(EXPORTS), price=rng.choice(PRICES), m=rng.choice(MONTHS),
        n=rng.choice([3, 5, 7, 10]),
    )


def make_message(rng: random.Random) -> str:
    kind = rng.choice(list(TEMPLATES))
    template = rng.choice(TEMPLATES[kind])
    parts = [fill(rng, template)]
    if rng.random() < 0.3:  # a second body sentence, from any kind but another template
        other = rng.choice(TEMPLATES[rng.choice(list(TEMPLATES))])
        if other != template:
            parts.append(fill(rng, other))
    extra = rng.choice(EXTRAS[kind])
    if extra:
        parts.append(extra)
    return " ".join(parts)


def main() -> None:
    rng = random.Random(SEED)
    seen: set[str] = set()
    rows = []
    while len(rows) < N_TRAIN + N_EVAL:
        text = make_message(rng)
        target = to_pebble_voice(text)
        if text.lower() in seen or len(target.split()) > 36:  # keep outputs short (~50 tokens)
            continue
        seen.add(text.lower())
        rows.append((text, target))
    splits = {"train": rows[:N_TRAIN], "eval": rows[N_TRAIN:]}
    train_inputs = {t.lower() for t, _ in splits["train"]}
    assert not any(t.lower() in train_inputs for t, _ in splits["eval"]), "eval input duplicates train"
    (HERE / "data").mkdir(exist_ok=True)
    for split, items in splits.items():
        with open(HERE / "data" / f"{split}.jsonl", "w", encoding="utf-8") as f:
            for i, (text, target) in enumerate(items):
                f.write(json.dumps({"id": f"{split}-{i:03d}", "input": text, "output": target}, ensure_ascii=False) + "\n")
    print(f"wrote {len(splits['train'])} train, {len(splits['eval'])} eval rows")


if __name__ == "__main__":
    main()
