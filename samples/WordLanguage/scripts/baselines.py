#!/usr/bin/env python3
"""The sample's two comparisons on the same split (the words of ../data shuffled and split 80/20 as the C# sample
does is not reproducible here bit for bit, so this script makes its own seeded 80/20 split of the same words):

1. a bag-of-characters logistic regression (counts of each character, multinomial, L2 1e-4, full-batch L-BFGS);
2. the same network in PyTorch: nn.Embedding(V, 16, padding_idx=0) -> nn.GRU(16, 64) -> nn.Linear(64, 5) on the
   last character of each word, Adam(0.005), batch 32, 15 epochs, cross-entropy (mean).

    /usr/bin/python3 samples/WordLanguage/scripts/baselines.py
"""
import os
import random

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
LANGUAGES = ["english", "german", "french", "italian", "spanish"]
words = []
for l, name in enumerate(LANGUAGES):
    with open(os.path.join(HERE, "..", "data", name + ".txt"), encoding="utf-8") as f:
        words += [(w, l) for w in f.read().split("\n") if w]
random.Random(21).shuffle(words)
cut = len(words) * 4 // 5
train, test = words[:cut], words[cut:]
chars = sorted({c for w, _ in train for c in w})
ids = {c: i + 2 for i, c in enumerate(chars)}  # 0 padding, 1 unknown
V = len(chars) + 2
majority = max(sum(1 for _, l in test if l == k) for k in range(5)) / len(test)
print(f"{len(train)} training words, {len(test)} held out; majority class {majority:.1%}")

torch.manual_seed(21)


def bag(ws):
    x = torch.zeros(len(ws), V, dtype=torch.float64)
    for n, (w, _) in enumerate(ws):
        for c in w:
            x[n, ids.get(c, 1)] += 1
    return x, torch.tensor([l for _, l in ws])


xtr, ytr = bag(train)
xte, yte = bag(test)
linear = torch.nn.Linear(V, 5).double()
opt = torch.optim.LBFGS(linear.parameters(), max_iter=500, line_search_fn="strong_wolfe")


def closure():
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(linear(xtr), ytr) + 1e-4 * linear.weight.pow(2).sum()
    loss.backward()
    return loss


opt.step(closure)
with torch.no_grad():
    print(f"bag-of-characters logistic regression: held-out accuracy {(linear(xte).argmax(1) == yte).double().mean().item():.1%}")


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(V, 16, padding_idx=0)
        self.rnn = torch.nn.GRU(16, 64)
        self.head = torch.nn.Linear(64, 5)

    def forward(self, x, lengths):
        packed = torch.nn.utils.rnn.pack_padded_sequence(self.embedding(x), lengths, enforce_sorted=False)
        _, h = self.rnn(packed)
        return self.head(h[-1])


def batch(ws):
    lengths = torch.tensor([len(w) for w, _ in ws])
    x = torch.zeros(int(lengths.max()), len(ws), dtype=torch.long)
    for n, (w, _) in enumerate(ws):
        for t, c in enumerate(w):
            x[t, n] = ids.get(c, 1)
    return x, lengths, torch.tensor([l for _, l in ws])


torch.set_num_threads(2)
net = Net()
opt = torch.optim.Adam(net.parameters(), lr=0.005)
order = list(range(len(train)))
shuffle = random.Random(1)
for epoch in range(15):
    shuffle.shuffle(order)
    for start in range(0, len(order), 32):
        x, lengths, y = batch([train[i] for i in order[start:start + 32]])
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x, lengths), y).backward()
        opt.step()
with torch.no_grad():
    x, lengths, y = batch(test)
    print(f"PyTorch embedding + GRU (same sizes, 15 epochs): held-out accuracy {(net(x, lengths).argmax(1) == y).double().mean().item():.1%}")
