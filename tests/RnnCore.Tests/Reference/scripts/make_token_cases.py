#!/usr/bin/env python3
"""Makes the token reference cases in ../tokens: nn.Embedding in front of nn.GRU / nn.LSTM (two layers,
bidirectional, a padding id, sequences of different lengths), then nn.Linear, in float64 with PyTorch 1.13.

    /usr/bin/python3 tests/RnnCore.Tests/Reference/scripts/make_token_cases.py

The format is ../../../../../shared/reference-cells/README.md's plus the fields ../tokens/README.md lists
(input_ids, lengths, embedding.weight, vocab_size and padding_idx in config). Variable lengths are PyTorch's packed
sequences (pack_padded_sequence, enforce_sorted=False); padded positions hold zeros in top_hidden and get no loss.
"""
import json
import os

import torch

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tokens")


def tolist(t):
    return t.detach().tolist()


class Net(torch.nn.Module):
    def __init__(self, cell, vocab, emb, hidden, out, layers, bidir, padding):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, emb, padding_idx=padding)
        kind = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell]
        self.rnn = kind(emb, hidden, num_layers=layers, bidirectional=bidir)
        self.head = torch.nn.Linear(hidden * (2 if bidir else 1), out)

    def forward(self, ids, lengths, state):
        x = self.embedding(ids)
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        output, final = self.rnn(packed, state)
        output, _ = torch.nn.utils.rnn.pad_packed_sequence(output, total_length=ids.shape[0])
        return output, final, self.head(output)


def loss_of(logits, targets, lengths, placement, reduction):
    steps, batch, _ = logits.shape
    if placement == "last_step":
        last = torch.stack([logits[lengths[b] - 1, b] for b in range(batch)])
        return torch.nn.functional.cross_entropy(last, targets, reduction=reduction)
    mask = torch.tensor([[1.0 if t < lengths[b] else 0.0 for b in range(batch)] for t in range(steps)])
    terms = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    total = (terms * mask.reshape(-1)).sum()
    return total / mask.sum() if reduction == "mean" else total


def run(net, ids, lengths, h0, c0, targets, cfg, dtype, optimizer_steps):
    net = net.to(dtype)
    h0 = h0.clone().to(dtype).requires_grad_(True)
    c0 = None if c0 is None else c0.clone().to(dtype).requires_grad_(True)
    state = h0 if c0 is None else (h0, c0)
    output, final, logits = net(ids, lengths, state)
    probabilities = torch.softmax(logits, dim=-1)
    loss = loss_of(logits, targets, lengths, cfg["placement"], cfg["reduction"])
    net.zero_grad()
    loss.backward()
    hn = final if c0 is None else final[0]
    result = {
        "outputs": probabilities, "top_hidden": output, "h_n": hn, "loss": loss,
        "grads": {name: p.grad.clone() for name, p in net.named_parameters()},
        "h0": h0.grad, "c0": None if c0 is None else c0.grad, "c_n": None if c0 is None else final[1],
    }
    steps = []
    if optimizer_steps:
        optimizer = torch.optim.Adam(net.parameters(), lr=cfg["optimizer"]["lr"])
        for _ in range(optimizer_steps):
            state = h0.detach() if c0 is None else (h0.detach(), c0.detach())
            _, _, logits = net(ids, lengths, state)
            step_loss = loss_of(logits, targets, lengths, cfg["placement"], cfg["reduction"])
            optimizer.zero_grad()
            step_loss.backward()
            optimizer.step()
            steps.append({"loss_before": step_loss.item(), "params": {n: p.detach().clone() for n, p in net.named_parameters()}})
    result["steps"] = steps
    return result


def worst(a, b):
    a = a.double().flatten()
    b = b.double().flatten()
    scale = a.abs().max().item() or 1.0
    return ((a - b).abs().max().item()) / scale


def make(name, description, cell, vocab, emb, hidden, out, layers, bidir, padding, steps, batch, lengths, placement, reduction,
         optimizer_steps, seed):
    torch.manual_seed(seed)
    net = Net(cell, vocab, emb, hidden, out, layers, bidir, padding)
    d = 2 if bidir else 1
    ids = torch.randint(0, vocab, (steps, batch))
    for b in range(batch):
        for t in range(steps):
            if t >= lengths[b]:
                ids[t, b] = padding  # not read: packing skips padded positions
    ids[0, 0] = padding  # a real position holding the padding id: a zero input, no gradient to its row
    h0 = torch.randn(layers * d, batch, hidden) * 0.5
    c0 = torch.randn(layers * d, batch, hidden) * 0.5 if cell == "lstm" else None
    if placement == "last_step":
        targets = torch.randint(0, out, (batch,))
    else:
        targets = torch.randint(0, out, (steps, batch))
    cfg = {
        "input_size": emb, "hidden_size": hidden, "output_size": out, "steps": steps, "batch": batch, "cell": cell,
        "num_layers": layers, "bidirectional": bidir, "hidden_activation": None, "output_activation": "softmax",
        "loss": "cross_entropy", "placement": placement, "reduction": reduction,
        "optimizer": {"name": "adam", "lr": 0.01} if optimizer_steps else None,
        "clip_max_norm": None, "clip_value": None, "tbptt_chunk": None,
        "vocab_size": vocab, "padding_idx": padding,
    }
    initial = {n: p.detach().clone() for n, p in net.named_parameters()}
    import copy
    r64 = run(copy.deepcopy(net), ids, lengths, h0, c0, targets, cfg, torch.float64, optimizer_steps)
    r32 = run(copy.deepcopy(net), ids, lengths, h0, c0, targets, cfg, torch.float32, optimizer_steps)
    initial_error = max(worst(r64[k], r32[k]) for k in ["outputs", "top_hidden", "h_n"]
                        + [k for k in ["c_n"] if r64[k] is not None])
    initial_error = max([initial_error] + [worst(r64["grads"][n], r32["grads"][n]) for n in r64["grads"]])
    trajectory_error = max([0.0] + [worst(s64["params"][n], s32["params"][n])
                                    for s64, s32 in zip(r64["steps"], r32["steps"]) for n in s64["params"]])
    expected = {
        "outputs": tolist(r64["outputs"]), "top_hidden": tolist(r64["top_hidden"]), "h_n": tolist(r64["h_n"]),
        "loss": r64["loss"].item(),
        "grads": {**{n: tolist(g) for n, g in r64["grads"].items()}, "h0": tolist(r64["h0"])},
    }
    if c0 is not None:
        expected["c_n"] = tolist(r64["c_n"])
        expected["grads"]["c0"] = tolist(r64["c0"])
    if optimizer_steps:
        expected["steps"] = [{"loss_before": s["loss_before"], "params": {n: tolist(p) for n, p in s["params"].items()}}
                             for s in r64["steps"]]
    case = {
        "name": name, "description": description, "config": cfg,
        "params": {n: tolist(p) for n, p in initial.items()},
        "input_ids": tolist(ids), "lengths": list(lengths), "h0": tolist(h0),
        "targets": tolist(targets), "expected": expected,
        "float32": {"initial_worst_rel_error": initial_error, "trajectory_worst_rel_error": trajectory_error,
                    "trajectory_comparable": trajectory_error <= 1e-5},
    }
    if c0 is not None:
        case["c0"] = tolist(c0)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(case, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    assert torch.__version__.startswith("1.13"), torch.__version__
    os.makedirs(OUT, exist_ok=True)
    make("01-embedding-gru-2layer-bidir", "nn.Embedding(9, 4, padding_idx=0) -> 2-layer bidirectional GRU (H 5) -> Linear(10, 3); "
         "lengths 6, 3, 5, 1; cross-entropy at every real step, mean; two Adam steps",
         "gru", 9, 4, 5, 3, 2, True, 0, 6, 4, [6, 3, 5, 1], "all_steps", "mean", 2, 21)
    make("02-embedding-lstm-2layer-bidir", "nn.Embedding(11, 3, padding_idx=2) -> 2-layer bidirectional LSTM (H 4) -> Linear(8, 4); "
         "lengths 2, 7, 4; cross-entropy at each sequence's last real step, sum; two Adam steps",
         "lstm", 11, 3, 4, 4, 2, True, 2, 7, 3, [2, 7, 4], "last_step", "sum", 2, 22)
