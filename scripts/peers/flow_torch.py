#!/usr/bin/python3
"""The PyTorch peer of issue 15's training-speed bar: a residual Gibbs flow before an LSE read-out, written from the
formulas (THEORY.md sections 3, 8, 9), not from HjMl's code.

    z_0 = P x + q (FlowWidth m > d) or x
    z_{k+1} = z_k + h * sum_j softmax((a_j . z_k + c_j) / eps_flow)_j u_j,   h = T / L, k = 0 .. L-1
    f_c(z_L) = eps * log sum_{j in head c} exp((w_j . z_L + b_j) / eps)      (one LSE head of N pieces per class)
    loss = mean softmax cross-entropy of f + lambda/2 (|W|^2 + |flow parameters|^2)

Adam (beta 0.9, 0.999, epsilon 1e-8) on mini-batches of a seeded shuffle per epoch, the learning rate decaying on a
cosine from lr to lr/10 over the epochs. Initialisation as the Hopf-Cole construction reads backwards: the read-out's
support points y_j on training rows (k-means++ seeding within each class) at z_0, w_j = y_j / (2t), b_j = -|y_j|^2 / (4t);
keys a_j ~ N(0, 1/m), offsets and values 0 (the initial flow moves nothing); a lift starts as [I; G/sqrt(d)], q = 0.

Reads the folder `HjMl.Benchmarks flow-prepare` writes (case.json, raw rows, HjMl's fitted means and scales, so both
standardise alike) and writes flow-torch.json: per-epoch wall times, the main thread's CPU time per epoch (all the work
when run with --threads 1 and OPENBLAS_NUM_THREADS=1), losses and the test accuracy.
Runs in float64 unless --dtype float32 (HjMl trains flows in float32 under Adam; the report sets the two side by side),
on 2 threads. Debian's python3-torch: run with /usr/bin/python3.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch


def load(folder, name, columns=None):
    values = np.fromfile(os.path.join(folder, name), dtype="<f8")
    return values if columns is None else values.reshape(-1, columns)


class GibbsFlowClassifier(torch.nn.Module):
    def __init__(self, case, z0_rows, labels, generator):
        super().__init__()
        d = case["features"]
        m = case["flowWidth"] if case["flowWidth"] > d else d
        steps = case["depth"]
        pieces = case["flowSupportPoints"]
        sets = 1 if case["sharedFlowControls"] else steps
        self.lifted = m > d
        self.steps = steps
        self.shared = case["sharedFlowControls"]
        self.h = case["flowHorizon"] / steps
        self.flow_eps = case["flowViscosity"]
        self.eps = case["viscosity"]
        self.classes = case["classes"]
        self.support = case["supportPoints"]
        if self.lifted:
            lift = torch.zeros(m, d)
            lift[:d, :d] = torch.eye(d)
            lift[d:, :] = torch.randn(m - d, d, generator=generator) / math.sqrt(d)
            self.lift = torch.nn.Parameter(lift)
            self.lift_bias = torch.nn.Parameter(torch.zeros(m))
        self.keys = torch.nn.Parameter(torch.randn(sets, pieces, m, generator=generator) / math.sqrt(m))
        self.offsets = torch.nn.Parameter(torch.zeros(sets, pieces))
        self.values = torch.nn.Parameter(torch.zeros(sets, pieces, m))

        # The read-out's support points on training rows, as the (initially motionless) flow carries them: z_0.
        with torch.no_grad():
            z0 = self.start(z0_rows)
        t = case["time"]
        weights = torch.empty(self.classes * self.support, m)
        biases = torch.empty(self.classes * self.support)
        for c in range(self.classes):
            rows = z0[labels == c]
            chosen = kmeans_plus_plus(rows, self.support, generator)
            y = rows[chosen]
            weights[c * self.support:(c + 1) * self.support] = y / (2 * t)
            biases[c * self.support:(c + 1) * self.support] = -(y * y).sum(dim=1) / (4 * t)
        self.weights = torch.nn.Parameter(weights)
        self.biases = torch.nn.Parameter(biases)

    def start(self, x):
        return torch.addmm(self.lift_bias, x, self.lift.t()) if self.lifted else x

    def flow_parameters(self):
        lift = [self.lift, self.lift_bias] if self.lifted else []
        return lift + [self.keys, self.offsets, self.values]

    def forward(self, x):
        z = self.start(x)
        for k in range(self.steps):
            s = 0 if self.shared else k
            pi = torch.softmax(torch.addmm(self.offsets[s], z, self.keys[s].t()) / self.flow_eps, dim=1)
            z = z + self.h * (pi @ self.values[s])
        logits = torch.addmm(self.biases, z, self.weights.t()) / self.eps
        return self.eps * torch.logsumexp(logits.view(-1, self.classes, self.support), dim=2)


def kmeans_plus_plus(rows, count, generator):
    """k-means++ seeding (Arthur and Vassilvitskii 2007): the first row uniformly, each next one with probability
    proportional to its squared distance to the nearest row chosen so far."""
    if rows.shape[0] <= count:
        order = torch.randperm(rows.shape[0], generator=generator)
        return torch.tensor([order[j % rows.shape[0]] for j in range(count)])
    chosen = [int(torch.randint(rows.shape[0], (1,), generator=generator))]
    distances = torch.full((rows.shape[0],), float("inf"))
    for _ in range(1, count):
        distances = torch.minimum(distances, ((rows - rows[chosen[-1]]) ** 2).sum(dim=1))
        chosen.append(int(torch.multinomial(distances, 1, generator=generator)))
    return torch.tensor(chosen)


def loaded_blas():
    """The BLAS libraries this process mapped (Debian's torch calls the system libblas.so.3 through alternatives)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line.lower() or "mkl" in line.lower()}
        return sorted(os.path.realpath(path) for path in paths if path.startswith("/"))
    except OSError:
        return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="the folder `HjMl.Benchmarks flow-prepare` wrote")
    parser.add_argument("--epochs", type=int, help="epochs (default: case.json's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                        help="the default dtype: parameters, inputs and every operation (default float64)")
    parser.add_argument("--out", help="the JSON to write (default: folder/flow-torch.json)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    dtype = torch.float32 if args.dtype == "float32" else torch.float64
    torch.set_default_dtype(dtype)
    with open(os.path.join(args.folder, "case.json")) as file:
        case = json.load(file)
    epochs = args.epochs or case["epochs"]
    d = case["features"]
    means, scales = load(args.folder, "means.f64"), load(args.folder, "scales.f64")
    # Standardised in double, then rounded once to the dtype, as HjMl rounds its standardised rows.
    train_x = torch.from_numpy((load(args.folder, "train-x.f64", d) - means) / scales).to(dtype)
    test_x = torch.from_numpy((load(args.folder, "test-x.f64", d) - means) / scales).to(dtype)
    train_y = torch.from_numpy(load(args.folder, "train-y.f64")).long()
    test_y = torch.from_numpy(load(args.folder, "test-y.f64")).long()

    generator = torch.Generator().manual_seed(case["seed"])
    torch.manual_seed(case["seed"])
    started = time.perf_counter()
    model = GibbsFlowClassifier(case, train_x, train_y, generator)
    setup_seconds = time.perf_counter() - started
    optimiser = torch.optim.Adam(model.parameters(), lr=case["learningRate"], betas=(0.9, 0.999), eps=1e-8)
    penalty = case["l2"]
    batch = case["batchSize"]
    rows = train_x.shape[0]
    epoch_seconds, losses = [], []
    epoch_cpu_seconds = []
    for epoch in range(epochs):
        rate = case["learningRate"]
        if case["cosine"]:
            rate *= 0.1 + 0.45 * (1 + math.cos(math.pi * epoch / max(1, epochs - 1)))
        for group in optimiser.param_groups:
            group["lr"] = rate
        started, started_cpu = time.perf_counter(), time.thread_time()
        order = torch.randperm(rows, generator=generator)
        loss_sum = 0.0
        for first in range(0, rows, batch):
            index = order[first:first + batch]
            scores = model(train_x[index])
            loss = torch.nn.functional.cross_entropy(scores, train_y[index])
            loss = loss + 0.5 * penalty * (model.weights.pow(2).sum() + sum(p.pow(2).sum() for p in model.flow_parameters()))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            loss_sum += loss.item() * index.shape[0]
        epoch_seconds.append(time.perf_counter() - started)
        epoch_cpu_seconds.append(time.thread_time() - started_cpu)
        losses.append(loss_sum / rows)
        print(f"epoch {epoch + 1}: {epoch_seconds[-1]:.3f} s ({epoch_cpu_seconds[-1]:.3f} s CPU of the main thread), "
              f"loss {losses[-1]:.4f}", flush=True)

    with torch.no_grad():
        accuracy = (model(test_x).argmax(dim=1) == test_y).double().mean().item()
    print(f"test accuracy {accuracy:.4f}")
    result = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "dtype": str(torch.get_default_dtype()),
        "blas": loaded_blas(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "epochs": epochs,
        "setupSeconds": setup_seconds,
        "epochSeconds": epoch_seconds,
        "epochCpuSeconds": epoch_cpu_seconds,
        "losses": losses,
        "testAccuracy": accuracy,
    }
    with open(args.out or os.path.join(args.folder, "flow-torch.json"), "w") as file:
        json.dump(result, file, indent=2)


if __name__ == "__main__":
    main()
