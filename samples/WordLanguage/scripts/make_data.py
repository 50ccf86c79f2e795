#!/usr/bin/env python3
"""Samples the bundled word lists in ../data from Debian's word lists (apt-get install wamerican wngerman wfrench
witalian wspanish): per language 3,000 words, lower-cased, letters only (accents kept), 3 to 14 letters, words found
in more than one list removed, drawn with random.Random(21) from the sorted list. Run: python3 scripts/make_data.py"""
import os
import random

LISTS = {"english": "american-english", "german": "ngerman", "french": "french", "italian": "italian", "spanish": "spanish"}
HERE = os.path.dirname(os.path.abspath(__file__))
words = {}
for language, name in LISTS.items():
    with open(os.path.join("/usr/share/dict", name), encoding="utf-8") as f:
        words[language] = {w.strip().lower() for w in f if w.strip().isalpha() and 3 <= len(w.strip()) <= 14}
seen = {}
for language, ws in words.items():
    for w in ws:
        seen[w] = seen.get(w, 0) + 1
for language, ws in words.items():
    unique = sorted(w for w in ws if seen[w] == 1)
    sample = random.Random(21).sample(unique, 3000)
    with open(os.path.join(HERE, "..", "data", language + ".txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(sample) + "\n")
    print(language, len(ws), "words,", len(unique), "in no other list, 3000 sampled")
