"""PyTorch CPU's side of scripts/bench-vs-torch.sh: train the model of an ``ultraspike``
checkpoint (its metadata's ``model``) with ``ultraspike train``'s recipe - SGD lr 0.01,
momentum 0.95, weight decay 5e-4, dropout on, mean cross-entropy, shuffled batches of the
normalized training images - for the same number of images, and print the training rate as
one JSON line. Times the epoch after two untimed warm-up batches, as the CLI's epoch rate
counts the training batches only.

    python python/bench_torch_train.py CKPT --images IDX --images-count 3200 [--batch 64] [--threads N]
"""

import argparse
import json
import sys
import time

import numpy as np

import ultraspike_torch as ut


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ckpt", help="a checkpoint `ultraspike train` wrote (for its model config)")
    ap.add_argument("--images", required=True, help="the training images (IDX, raw or .gz)")
    ap.add_argument("--labels", required=True, help="the training labels (IDX)")
    ap.add_argument("--images-count", type=int, default=3200)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    a = ap.parse_args(argv)

    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    _, meta = ut.load(a.ckpt)
    model = meta["model"]
    net = ut.build_dnn(model)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.95, weight_decay=5e-4)
    images = ut.read_idx(a.images)[: a.images_count]
    images = images[:, None] if images.ndim == 3 else images
    labels = ut.read_idx(a.labels)[: a.images_count].astype(np.int64)
    mean, std = ut.normalization(meta, images.shape[1])
    x_all = torch.from_numpy(ut.normalize(images, mean, std))
    y_all = torch.from_numpy(labels)
    order = torch.randperm(len(y_all))
    batches = [order[s : s + a.batch] for s in range(0, len(order), a.batch)]

    def step(idx):
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(net(x_all[idx]), y_all[idx])
        loss.backward()
        opt.step()
        return loss

    for idx in batches[:2]:
        step(idx)
    t0 = time.perf_counter()
    for idx in batches:
        loss = step(idx)
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "side": "pytorch-cpu",
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "model": model["name"],
                "images": len(y_all),
                "batch": a.batch,
                "seconds": round(seconds, 3),
                "images_per_s": round(len(y_all) / seconds, 1),
                "last_loss": round(loss.item(), 4),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
