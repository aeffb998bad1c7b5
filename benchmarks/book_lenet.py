"""The book's LeNet training loop, kept as the book has it: what d2lkit is measured against.

torchvision's `FashionMNIST` + `DataLoader(num_workers=4)` + `ToTensor` (one PIL image per sample,
in worker processes), LeNet with sigmoid and max-pool, Adam 1e-3, batch 256, and the book's
`train_ch5` loop with its two `.item()` host syncs per step and its per-epoch `evaluate_accuracy`.
The only departures: `download=False` (the files are placed in torchvision's folder layout by the
caller, nothing is fetched) and an optional step limit for quick timing.

    python benchmarks/book_lenet.py --root DIR [--epochs N] [--steps S] [--json OUT]

DIR must hold `FashionMNIST/raw/` with the four decompressed IDX files
(`d2lkit.report.book_compare.torchvision_layout` builds it from d2lkit's located files).
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import torch
import torchvision
from torch import nn


def load_data_fashion_mnist(batch_size: int, root: str) -> tuple:
    transform = torchvision.transforms.Compose([torchvision.transforms.ToTensor()])
    mnist_train = torchvision.datasets.FashionMNIST(
        root=root, train=True, download=False, transform=transform
    )
    mnist_test = torchvision.datasets.FashionMNIST(
        root=root, train=False, download=False, transform=transform
    )
    num_workers = 4
    train_iter = torch.utils.data.DataLoader(
        mnist_train, batch_size=batch_size, shuffle=True, num_workers=num_workers
    )
    test_iter = torch.utils.data.DataLoader(
        mnist_test, batch_size=batch_size, shuffle=False, num_workers=num_workers
    )
    return train_iter, test_iter


class LeNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 6, 5),  # (B, 6, 24, 24)
            nn.Sigmoid(),
            nn.MaxPool2d(2, 2),  # (B, 6, 12, 12)
            nn.Conv2d(6, 16, 5),  # (B, 16, 8, 8)
            nn.Sigmoid(),
            nn.MaxPool2d(2, 2),  # (B, 16, 4, 4)
        )
        self.fc = nn.Sequential(
            nn.Linear(16 * 4 * 4, 120),
            nn.Sigmoid(),
            nn.Linear(120, 84),
            nn.Sigmoid(),
            nn.Linear(84, 10),
        )

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        feature = self.conv(img)
        return self.fc(feature.view(img.shape[0], -1))


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished children (the DataLoader
    workers, counted once they exit at the end of each pass over a loader)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def evaluate_accuracy(data_iter, net: nn.Module) -> float:
    device = list(net.parameters())[0].device
    acc_sum, n = 0.0, 0
    with torch.no_grad():
        for X, y in data_iter:
            net.eval()
            acc_sum += (net(X.to(device)).argmax(dim=1) == y.to(device)).float().sum().cpu().item()
            net.train()
            n += y.shape[0]
    return acc_sum / n


def train_ch5(net, train_iter, test_iter, optimizer, device, num_epochs, max_steps=None) -> list:
    """The book's loop; also records, per epoch, the time to the first batch (worker start-up)
    and the train and eval seconds, so a limited number of steps can be extrapolated."""
    net = net.to(device)
    loss = torch.nn.CrossEntropyLoss()
    epochs = []
    for epoch in range(num_epochs):
        train_l_sum, train_acc_sum, n, batch_count, start = 0.0, 0.0, 0, 0, time.time()
        cpu_start = cpu_seconds()
        first_batch_s = None
        for X, y in train_iter:
            if first_batch_s is None:
                first_batch_s = time.time() - start
            X = X.to(device)
            y = y.to(device)
            y_hat = net(X)
            l = loss(y_hat, y)  # noqa: E741  (the book's name)
            optimizer.zero_grad()
            l.backward()
            optimizer.step()
            train_l_sum += l.cpu().item()
            train_acc_sum += (y_hat.argmax(dim=1) == y).sum().cpu().item()
            n += y.shape[0]
            batch_count += 1
            if max_steps is not None and batch_count >= max_steps:
                break
        train_s = time.time() - start
        train_cpu_s = cpu_seconds() - cpu_start  # the loop's workers have exited by now
        test_acc = evaluate_accuracy(test_iter, net)
        epoch_s = time.time() - start
        print(
            f"epoch {epoch + 1}, loss {train_l_sum / batch_count:.4f}, train acc"
            f" {train_acc_sum / n:.3f}, test acc {test_acc:.3f}, time {epoch_s:.1f} sec",
            flush=True,
        )
        epochs.append(
            {
                "epoch": epoch + 1,
                "steps": batch_count,
                "images": n,
                "first_batch_s": first_batch_s,
                "train_s": train_s,
                "train_cpu_s": train_cpu_s,
                "eval_s": epoch_s - train_s,
                "epoch_s": epoch_s,
                "train_loss": train_l_sum / batch_count,
                "test_acc": test_acc,
            }
        )
    return epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="folder holding FashionMNIST/raw/")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--steps", type=int, help="stop each epoch after this many steps")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--json", help="write the per-epoch timings here")
    args = parser.parse_args()

    batch_size = args.batch_size
    train_iter, test_iter = load_data_fashion_mnist(batch_size, args.root)
    net = LeNet()
    lr, num_epochs = 0.001, args.epochs
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    epochs = train_ch5(net, train_iter, test_iter, optimizer, device, num_epochs, args.steps)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": str(device), "batch_size": batch_size, "epochs": epochs}, f)


if __name__ == "__main__":
    main()
