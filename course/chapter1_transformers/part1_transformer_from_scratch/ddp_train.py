"""Train the part's DemoTransformer on the course corpus with DistributedDataParallel.

    torchrun --standalone --nproc_per_node 2 -m course.chapter1_transformers.part1_transformer_from_scratch.ddp_train --steps 50

Each process holds a full copy of the model and trains on its own slice of every batch (a
DistributedSampler); DDP averages the gradients across processes inside loss.backward(), so every
copy takes the same optimizer step. CPUs use the gloo backend, GPUs nccl (one GPU per process). At
the end the processes compare their parameters, and with --out each writes what it saw to
rank<R>.json."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from course.chapter1_transformers.part1_transformer_from_scratch.solutions import (
    Config,
    DemoTransformer,
    get_log_probs,
)

TOKENIZER_FILE = Path(__file__).resolve().parents[1] / "zoo" / "weights" / "tokenizer" / "tokenizer.json"


def corpus_rows(n_stories: int, seq_len: int, seed: int = 0) -> torch.Tensor:
    """The course corpus as rows of token ids (the `tokenizers` library directly: quick to import)."""
    from tokenizers import Tokenizer

    from course.chapter1_transformers.zoo.corpus import BOS, corpus_text

    tok = Tokenizer.from_file(str(TOKENIZER_FILE))
    bos = tok.token_to_id(BOS)
    ids: list[int] = []
    for enc in tok.encode_batch([d for d in corpus_text(n_stories, seed).split(BOS) if d]):
        ids += [bos, *enc.ids]
    n_rows = len(ids) // seq_len
    return torch.tensor(ids[: n_rows * seq_len]).view(n_rows, seq_len)


def parameter_digest(model: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for p in model.parameters():
        digest.update(p.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=16, help="per process")
    parser.add_argument("--stories", type=int, default=2_000)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--out", type=Path, default=None, help="a folder for rank<R>.json")
    args = parser.parse_args(argv)

    use_cuda = torch.cuda.is_available()
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if use_cuda else "cpu")
    if not use_cuda:
        torch.set_num_threads(1)

    rows = corpus_rows(args.stories, seq_len=48)
    cfg = Config(d_model=64, d_vocab=1058, n_ctx=48, d_head=16, d_mlp=256, n_heads=4, n_layers=2)
    torch.manual_seed(0)  # DDP also broadcasts rank 0's weights at wrapping time
    model = DistributedDataParallel(DemoTransformer(cfg).to(device),
                                    device_ids=[device.index] if use_cuda else None)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    sampler = DistributedSampler(TensorDataset(rows), num_replicas=world, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(TensorDataset(rows), batch_size=args.batch_size, sampler=sampler, drop_last=True)

    losses: list[float] = []
    step, epoch = 0, 0
    while step < args.steps:
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        for (batch,) in loader:
            batch = batch.to(device)
            loss = -get_log_probs(model(batch), batch).mean()
            opt.zero_grad()
            loss.backward()  # DDP all-reduces (averages) the gradients here
            opt.step()
            losses.append(loss.item())
            step += 1
            if rank == 0 and (step % 10 == 0 or step == args.steps):
                print(f"step {step}: loss {losses[-1]:.3f} (rank 0's share of the batch)", flush=True)
            if step == args.steps:
                break
        epoch += 1

    digest = parameter_digest(model.module)
    digests: list[str | None] = [None] * world
    dist.all_gather_object(digests, digest)
    result = {"rank": rank, "world_size": world, "steps": step, "losses": losses, "digest": digest,
              "replicas_agree": len(set(digests)) == 1}
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"rank{rank}.json").write_text(json.dumps(result), encoding="utf-8")
    if rank == 0:
        print(f"{world} processes, {step} steps; replicas agree: {result['replicas_agree']}", flush=True)
    dist.destroy_process_group()
    return result


if __name__ == "__main__":
    main()
