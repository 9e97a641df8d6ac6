#!/usr/bin/python3
"""The paper's training problem for scripts/peers/paper: its data, and the same training loop in NumPy and in PyTorch.

Problem (arXiv:2605.28983v1, the width-scaling experiment): f(x) = |x|_2 on [-2, 2]^2, 4000 training rows, one
log-sum-exp head of 200 pieces f(x) = eps log sum_j exp((w_j . x + b_j) / eps) at eps = 0.0707, squared loss,
3000 full-batch Adam iterations at learning rate 0.006 (beta 0.9, 0.999, epsilon 1e-8), float32, with the learning rate
schedule `hjml train` uses by default: a cosine from the rate down to a tenth of it over the iterations,
rate_i = 0.006 (0.1 + 0.45 (1 + cos(pi (i - 1) / (n - 1)))) (--schedule constant keeps 0.006).
Start: the Hopf–Cole construction on 200 training rows y_j at t = d/4 (THEORY.md section 1): w_j = y_j / (2t),
b_j = -g_j - |y_j|^2 / (4t) with initial data g_j = |y_j|^2 / (4t) - f(y_j), so that piece j alone passes through
(y_j, f(y_j)).
Written from those formulas for this comparison; the gradient is the exact one of THEORY.md section 3
(d f / d b_j = pi_j, d f / d w_j = pi_j x), which NumPy applies by hand and PyTorch gets from autograd.

  paper_peers.py data <folder> [--seed s]        train.csv (4000 rows) and test.csv (10000 rows): x1, x2, y
  paper_peers.py numpy <folder> [--iterations n] [--schedule cosine|constant] prints one JSON line: wall seconds of the loop, test RMSE
  paper_peers.py torch <folder> [--threads t] [--iterations n] [--schedule cosine|constant]
"""
import argparse
import json
import os
import sys
import time

import numpy as np

TRAIN_ROWS = 4000
TEST_ROWS = 10000
PIECES = 200
VISCOSITY = 0.0707
LEARNING_RATE = 0.006
BETA1, BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8


def write_csv(path, x, y):
    with open(path, "w") as f:
        f.write("x1,x2,y\n")
        for (a, b), t in zip(x, y):
            f.write(f"{a!r},{b!r},{t!r}\n")


def read_csv(path):
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    return table[:, :2], table[:, 2]


def data(folder, seed):
    random = np.random.default_rng(seed)
    for name, rows in (("train", TRAIN_ROWS), ("test", TEST_ROWS)):
        x = random.uniform(-2.0, 2.0, size=(rows, 2))
        write_csv(os.path.join(folder, name + ".csv"), x, np.linalg.norm(x, axis=1))


def start(x, y, seed):
    """The Hopf–Cole construction on PIECES training rows (seeded): w_j = y_j / (2t), b_j = f(y_j) - |y_j|^2 / (2t)."""
    t = x.shape[1] / 4.0
    rows = np.random.default_rng(seed).choice(x.shape[0], PIECES, replace=False)
    support = x[rows]
    weights = support / (2 * t)
    biases = y[rows] - (support * support).sum(axis=1) / (2 * t)
    return weights.astype(np.float32), biases.astype(np.float32)


def lse(x, weights, biases):
    z = (x @ weights.T + biases) / VISCOSITY
    m = z.max(axis=1, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(axis=1, keepdims=True)
    return VISCOSITY * (m[:, 0] + np.log(s[:, 0])), e, s


def rate(step, iterations, schedule):
    if schedule == "constant":
        return LEARNING_RATE
    return LEARNING_RATE * (0.1 + 0.45 * (1 + np.cos(np.pi * (step - 1) / max(1, iterations - 1))))


def rmse(prediction, target):
    return float(np.sqrt(np.mean((prediction.astype(np.float64) - target) ** 2)))


def numpy_loop(folder, iterations, seed, schedule):
    x64, y64 = read_csv(os.path.join(folder, "train.csv"))
    test_x, test_y = read_csv(os.path.join(folder, "test.csv"))
    x, y = x64.astype(np.float32), y64.astype(np.float32)
    weights, biases = start(x64, y64, seed)
    params = [weights, biases]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    n = np.float32(x.shape[0])
    began = time.perf_counter()
    for step in range(1, iterations + 1):
        f, e, s = lse(x, weights, biases)
        residual = f - y
        # dL/df per row (L = mean of residual^2 / 2), then G = dL/df pi: dL/dW = G^T X, dL/db = sum of G's rows.
        g = (residual / n)[:, None] * (e / s)
        gradients = [g.T @ x, g.sum(axis=0)]
        for p, grad, m1, m2 in zip(params, gradients, first, second):
            m1 *= BETA1
            m1 += (1 - BETA1) * grad
            m2 *= BETA2
            m2 += (1 - BETA2) * grad * grad
            step_size = rate(step, iterations, schedule) / (1 - BETA1 ** step)
            p -= step_size * m1 / (np.sqrt(m2 / (1 - BETA2 ** step)) + ADAM_EPSILON)
    seconds = time.perf_counter() - began
    prediction, _, _ = lse(test_x.astype(np.float32), weights, biases)
    return {"peer": "numpy", "seconds": seconds, "test_rmse": rmse(prediction, test_y), "numpy": np.__version__}


def torch_loop(folder, iterations, threads, seed, schedule):
    import torch

    torch.set_num_threads(threads)
    x64, y64 = read_csv(os.path.join(folder, "train.csv"))
    test_x, test_y = read_csv(os.path.join(folder, "test.csv"))
    weights, biases = start(x64, y64, seed)
    w = torch.tensor(weights, requires_grad=True)
    b = torch.tensor(biases, requires_grad=True)
    x = torch.tensor(x64, dtype=torch.float32)
    y = torch.tensor(y64, dtype=torch.float32)
    optimiser = torch.optim.Adam([w, b], lr=LEARNING_RATE, betas=(BETA1, BETA2), eps=ADAM_EPSILON)

    def model(rows):
        return VISCOSITY * torch.logsumexp((rows @ w.T + b) / VISCOSITY, dim=1)

    began = time.perf_counter()
    for step in range(1, iterations + 1):
        for group in optimiser.param_groups:
            group["lr"] = rate(step, iterations, schedule)
        optimiser.zero_grad()
        loss = 0.5 * ((model(x) - y) ** 2).mean()
        loss.backward()
        optimiser.step()
    seconds = time.perf_counter() - began
    with torch.no_grad():
        prediction = model(torch.tensor(test_x, dtype=torch.float32)).numpy()
    return {"peer": "torch", "seconds": seconds, "test_rmse": rmse(prediction, test_y), "threads": threads, "torch": torch.__version__}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["data", "numpy", "torch"])
    parser.add_argument("folder")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--schedule", choices=["cosine", "constant"], default="cosine")
    arguments = parser.parse_args()
    if arguments.what == "data":
        data(arguments.folder, arguments.seed)
        return
    if arguments.what == "numpy":
        result = numpy_loop(arguments.folder, arguments.iterations, arguments.seed, arguments.schedule)
    else:
        result = torch_loop(arguments.folder, arguments.iterations, arguments.threads, arguments.seed, arguments.schedule)
    result["schedule"] = arguments.schedule
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
