"""Regenerate data/train.jsonl and data/eval.jsonl for the support-tickets example.

Deterministic (seeded `random`, stdlib only):  python make_data.py
Each ticket is assembled from hand-written fragments; every output value is recoverable from the
ticket text: the customer's name, order id and product appear in it, and category, priority and
sentiment follow from explicit cues (the issue sentence, an urgency phrase, a tone phrase).
"""
from __future__ import annotations

import json
import random
from pathlib import Path

SEED = 20240611
N_TRAIN, N_EVAL = 300, 100
HERE = Path(__file__).resolve().parent

PRODUCTS = [
    "Nimbus Router", "Nimbus Mesh Extender", "Lumo Desk Lamp", "Lumo Smart Bulb",
    "Koda Fitness Band", "Koda Smart Scale", "Vela Air Purifier", "Vela Humidifier",
    "Orbit Robot Vacuum", "Tandem Earbuds", "Sprout Plant Sensor", "Harbor Doorbell Camera",
]

FIRST = ["Maria", "Tom", "Li", "Priya", "Jonas", "Fatima", "Oscar", "Hannah", "Kenji", "Amara",
         "Lucas", "Sofia", "Dev", "Elena", "Noah", "Ines", "Rafael", "Yuki", "Ben", "Zoe", "Grace",
         "Mateo", "Aisha", "Sven", "Chloe", "Tariq", "Nora", "Pablo", "Ingrid", "Kwame", "Leah",
         "Marco", "Anya", "Felix", "Rosa", "Omar", "Julia", "Theo", "Mei", "Hugo"]
LAST = ["Okafor", "Lindqvist", "Chen", "Patel", "Muller", "Haddad", "Reyes", "Schmidt", "Tanaka",
        "Novak", "Silva", "Brennan", "Kowalski", "Dubois", "Ali", "Moreau", "Fischer", "Nakamura",
        "Costa", "Byrne", "Jensen", "Rossi", "Mensah", "Kaur", "Ortega", "Weber", "Larsen",
        "Popescu", "Walsh", "Yilmaz"]

# Issue sentences per category. {p} = product as written in the ticket, {o} = order reference
# phrase (only in templates that take one).
ISSUES = {
    "billing": [
        "I was charged twice for my {p}.",
        "my card got billed two times for the {p}, can you refund one of them?",
        "The invoice for my {p} shows a higher price than the checkout page did.",
        "I paid for express shipping on the {p} but the receipt says I was charged for it twice.",
        "My payment for the {p} was declined but the money still left my account.",
        "Why is there a monthly fee on my statement for the {p}? I never signed up for a subscription.",
        "The discount code was not applied when I bought the {p}, I was charged full price.",
        "I need a proper VAT invoice for the {p}, the one I got has no company name on it.",
        "you charged me for a {p} i cancelled the same day.",
        "My card was charged again this month for the {p} even though I paid in full.",
    ],
    "shipping": [
        "My {p} still hasn't arrived and the tracking has not updated in a week.",
        "The tracking page says my {p} was delivered but there is nothing at my door.",
        "I got the wrong item in the box, I ordered a {p}.",
        "Can I change the delivery address for my {p}? I'm moving on Monday.",
        "The courier left my {p} with a neighbour I don't know.",
        "my {p} has been stuck in customs for 9 days, whats going on",
        "The {p} was supposed to arrive Tuesday and now the estimate says next month.",
        "The box for my {p} arrived crushed and half open.",
        "Only the charger came, the {p} itself was missing from the parcel.",
        "is there any way to get the {p} shipped faster? the tracking says it hasnt left the warehouse",
    ],
    "technical": [
        "My {p} keeps disconnecting from the wifi every few minutes.",
        "The {p} won't turn on since the last firmware update.",
        "The app crashes every time I try to add my {p}.",
        "my {p} shows a blinking red light and does nothing else",
        "The {p} battery drains in about two hours even when it is idle.",
        "I get error E{n} when pairing the {p} with my phone.",
        "The {p} is stuck on 'updating' and has been for a whole day.",
        "The {p} resets itself to factory settings at random.",
        "Bluetooth finds the {p} but the connection drops right away.",
        "The {p} makes a loud clicking noise and the readings in the app are wrong.",
    ],
    "account": [
        "I can't log in to the account I use for my {p}, the reset email never comes.",
        "Please change the email on my account, I use it to manage my {p}.",
        "I want to delete my account and all the data from my {p}.",
        "My account got locked after I set up the {p} on a new phone.",
        "Someone else seems to have logged into my account, the {p} shows a device I don't own.",
        "how do i transfer my {p} to my partner's account?",
        "The two-factor code for my account never arrives, so I can't control my {p}.",
        "I'd like to merge my two accounts, the {p} is registered on the old one.",
        "my username changed by itself and now the {p} won't sync with my account",
    ],
    "returns": [
        "I would like to return my {p}, it doesn't fit my needs.",
        "Can I exchange the {p} for a different colour?",
        "I want to send back the {p}, how do I get a return label?",
        "The {p} is not what I expected, please start a return for me.",
        "i'd like a refund for the {p}, i'm returning it unopened",
        "My return for the {p} was rejected and I don't understand why.",
        "I shipped the {p} back two weeks ago, has the return been processed?",
        "Is it too late to return the {p}? I bought it 25 days ago.",
        "I'd like to swap the {p} for the newer model and pay the difference.",
    ],
}

# Order reference phrases; {o} is the canonical id, which the output repeats exactly.
ORDER_REFS = [
    "Order number: {o}.", "It was order {o}.", "(order {o})", "Order #{o}.", "my order no. is {o}",
    "Order ID {o}.", "This is about order {o}.", "ref: {o}", "The order was {o}.",
]

# Urgency cues decide priority.
URGENCY = {
    "urgent": [
        "URGENT, please call me back today.", "This is urgent, I run a shop and it's down.",
        "It started smoking, I unplugged it, please help now.", "Please treat this as an emergency.",
        "URGENT: I need this fixed within the hour.", "this is urgent!!",
    ],
    "high": [
        "I need this sorted as soon as possible.", "This is the second time I'm writing about this.",
        "Please fix this by tomorrow, it's a gift.", "I really need an answer quickly.",
        "Please prioritise this, I've waited long enough.",
    ],
    "medium": [
        "", "", "", "Could you look into it?", "Please let me know what to do.",
        "What are my options?",
    ],
    "low": [
        "No rush at all.", "Whenever you get a chance.", "Not urgent, just curious.",
        "No hurry, next week is fine.", "Low priority, just wanted to flag it.",
    ],
}

# Tone cues decide sentiment.
TONE = {
    "negative": [
        "This is really frustrating.", "Honestly I'm very disappointed.", "Worst experience I've had with an online shop.",
        "I'm fed up with this.", "Not happy at all.", "This is ridiculous.", "Really annoyed right now.",
    ],
    "neutral": ["", "", "", "Thanks.", "Regards.", "Thank you."],
    "positive": [
        "Love the product otherwise, thanks so much!", "You've always been great, thank you!",
        "Thanks a lot, your team is awesome.", "Really happy with everything else, cheers!",
        "Great service so far, appreciate it!",
    ],
}

GREETINGS = ["", "", "Hi,", "Hello,", "Hi there,", "Hey,", "Good morning,", "Dear support,"]
INTROS = ["This is {name}.", "My name is {name}.", "{name} here.", "It's {name} writing."]
SIGNOFFS = ["- {name}", "Thanks, {name}", "Best, {name}", "Cheers, {name}", "{name}", "Regards, {name}"]

PRIORITY_WEIGHTS = {"urgent": 1, "high": 2, "medium": 4, "low": 2}
ORDER_PROB = {"billing": 0.8, "shipping": 0.9, "returns": 0.9, "technical": 0.4, "account": 0.2}
TYPOS = {"received": "recieved", "the": "teh", "because": "becuase", "really": "realy",
         "please": "pls", "tomorrow": "tomorow", "would": "woud", "since": "sicne", "again": "agian"}
KEY_ORDER = ("category", "priority", "product", "customer", "sentiment")


def pick_weighted(rng: random.Random, weights: dict[str, int]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def add_typos(rng: random.Random, text: str, protected: list[str]) -> str:
    words = text.split(" ")
    for i, w in enumerate(words):
        bare = w.strip(".,!?").lower()
        if bare in TYPOS and not any(bare in p.lower() for p in protected) and rng.random() < 0.5:
            words[i] = w.lower().replace(bare, TYPOS[bare])
    return " ".join(words)


def make_ticket(rng: random.Random) -> tuple[str, dict]:
    category = rng.choice(list(ISSUES))
    priority = pick_weighted(rng, PRIORITY_WEIGHTS)
    tones = ["negative", "neutral"] if priority == "urgent" else ["negative", "neutral", "positive"]
    sentiment = rng.choice(tones)
    product = rng.choice(PRODUCTS)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    name = f"{first} {last}" if rng.random() < 0.75 else first
    order_id = f"A{rng.randint(10000, 99999)}" if rng.random() < ORDER_PROB[category] else None

    shown_product = product.lower() if rng.random() < 0.2 else product
    issue = rng.choice(ISSUES[category]).format(p=shown_product, n=rng.randint(10, 99))
    issue = issue[0].upper() + issue[1:] if rng.random() < 0.7 else issue
    parts = [rng.choice(GREETINGS)]
    sign_with_name = rng.random() < 0.6
    if not sign_with_name:
        parts.append(rng.choice(INTROS).format(name=name))
    order_phrase = rng.choice(ORDER_REFS).format(o=order_id) if order_id else ""
    if order_phrase and rng.random() < 0.5:
        parts += [order_phrase, issue]
    else:
        parts += [issue, order_phrase]
    urgency, tone = rng.choice(URGENCY[priority]), rng.choice(TONE[sentiment])
    if sign_with_name and sentiment == "neutral":
        tone = ""  # "Thanks. Cheers, Tom" reads oddly: the sign-off already closes the ticket
    parts += [urgency, tone] if rng.random() < 0.5 else [tone, urgency]
    if sign_with_name:
        parts.append(rng.choice(SIGNOFFS).format(name=name))
    text = " ".join(p for p in parts if p)
    if rng.random() < 0.3:
        text = add_typos(rng, text, [product, name])
    target = {
        "category": category,
        "priority": priority,
        "product": product,
        "customer": {"name": name, "order_id": order_id},
        "sentiment": sentiment,
    }
    assert tuple(target) == KEY_ORDER
    return text, target


def main() -> None:
    rng = random.Random(SEED)
    seen: set[str] = set()
    rows = []
    while len(rows) < N_TRAIN + N_EVAL:
        text, target = make_ticket(rng)
        if text.lower() in seen:  # no identical input anywhere, so none across splits
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
                out = json.dumps(target, separators=(",", ":"), ensure_ascii=False)
                row = {"id": f"{split}-{i:03d}", "input": text, "output": out}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(splits['train'])} train, {len(splits['eval'])} eval rows")


if __name__ == "__main__":
    main()
