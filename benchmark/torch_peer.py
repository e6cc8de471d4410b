"""The native peer of `emnist-bench bench --peer`: the study's best presets as plain PyTorch.

Each model mirrors its Keras builder layer for layer (benchmark/models/), takes the same uint8
(N, 28, 28) images and scales them by 1/255 inside, as the Keras models do, so both sides do
the same work per step. Parameter counts equal Keras's `count_params()` when BatchNorm's running
mean and variance are counted as Keras counts its moving statistics (`param_count`); the one
difference in the arithmetic is the ResNet's stride-2 'same' convs: Keras pads 1 before and 2
after, PyTorch's symmetric padding=2 pads 2 on both sides; output sizes, parameters and FLOPs
are identical.

This module imports PyTorch only, never Keras, so a peer process carries no Keras backend.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from benchmark import architectures, config, data

NUM_CLASSES = len(data.CLASS_CHARS["balanced"])
# benchmark/models/layers.py: BN_MOMENTUM = 0.9 in Keras's convention is PyTorch's momentum=0.1.
BN = {"momentum": 0.1, "eps": 1e-5}
LEAKY_SLOPE = 0.1
# PyTorch's twin of each optimizer in config.OPTIMIZERS (training.make_optimizer builds Keras's).
OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop}
# The autocast dtype of each mixed policy: Keras's mixed_<dtype> computes in <dtype>.
AUTOCAST = {name: getattr(torch, name.removeprefix("mixed_")) for name in config.PRECISIONS
            if name.startswith("mixed_")}


class MLP(nn.Module):
    """mlp/best: 3 x (Linear 128 -> BatchNorm1d -> ELU -> Dropout [0.25, 0.25, 0]) -> Linear 47."""

    def __init__(self, units: int = 128, dropout: tuple[float, ...] = (0.25, 0.25, 0.0)):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = 28 * 28
        for rate in dropout:
            # No bias where BatchNorm follows: its beta does that job (as in the Keras builder).
            layers += [nn.Linear(width, units, bias=False), nn.BatchNorm1d(units, **BN), nn.ELU()]
            if rate > 0:  # Keras leaves a rate-0 Dropout out of the model too
                layers.append(nn.Dropout(rate))
            width = units
        layers.append(nn.Linear(width, NUM_CLASSES))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.float() / 255)


class CNN(nn.Module):
    """cnn/best: per layer Conv ('same') -> BN -> LeakyReLU(0.1) -> MaxPool 2 with [32, 64, 128]
    channels and kernels [5, 5, 3], then Flatten -> Linear 128 -> BN -> LeakyReLU -> Linear 47."""

    def __init__(self, filters: tuple[int, ...] = (32, 64, 128),
                 kernels: tuple[int, ...] = (5, 5, 3), dense_units: int = 128):
        super().__init__()
        layers: list[nn.Module] = []
        channels, side = 1, 28
        for width, k in zip(filters, kernels, strict=True):
            layers += [nn.Conv2d(channels, width, k, padding="same", bias=False),
                       nn.BatchNorm2d(width, **BN), nn.LeakyReLU(LEAKY_SLOPE), nn.MaxPool2d(2)]
            channels, side = width, side // 2
        layers += [nn.Flatten(), nn.Linear(channels * side * side, dense_units, bias=False),
                   nn.BatchNorm1d(dense_units, **BN), nn.LeakyReLU(LEAKY_SLOPE),
                   nn.Linear(dense_units, NUM_CLASSES)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.float().unsqueeze(1) / 255)


def conv_bn(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    """Conv (no bias) then BatchNorm, with Keras's 'same' output size for odd kernels."""
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
                         nn.BatchNorm2d(cout, **BN))


class BasicBlock(nn.Module):
    """Two k x k conv-BN pairs with a LeakyReLU between, plus the shortcut (projected by a 1x1
    conv-BN where the stride or width changes), then LeakyReLU: models/resnet.py's block."""

    def __init__(self, cin: int, cout: int, k: int, stride: int):
        super().__init__()
        self.conv1 = conv_bn(cin, cout, k, stride)
        self.conv2 = conv_bn(cout, cout, k)
        self.proj = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.proj is None else self.proj(x)
        y = self.conv2(F.leaky_relu(self.conv1(x), LEAKY_SLOPE))
        return F.leaky_relu(y + shortcut, LEAKY_SLOPE)


class ResNet(nn.Module):
    """resnet/best: 3x3 stem conv-BN-LeakyReLU, stages of [2, 2, 2] basic blocks with
    [64, 128, 256] channels and 5x5 kernels (stride 2 where a later stage begins: 28 -> 14 -> 7),
    global average pooling, Linear 47."""

    def __init__(self, blocks: tuple[int, ...] = (2, 2, 2),
                 filters: tuple[int, ...] = (64, 128, 256), kernel_size: int = 5):
        super().__init__()
        self.stem = conv_bn(1, filters[0], 3)
        stages: list[nn.Module] = []
        channels = filters[0]
        for s, (count, width) in enumerate(zip(blocks, filters, strict=True)):
            for b in range(count):
                stride = 2 if s > 0 and b == 0 else 1
                stages.append(BasicBlock(channels, width, kernel_size, stride))
                channels = width
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(channels, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.stem(x.float().unsqueeze(1) / 255), LEAKY_SLOPE)
        x = self.stages(x)
        return self.head(x.mean(dim=(2, 3)))


def _peer(arch: str) -> architectures.Peer:
    peer = architectures.get(arch).peer
    if peer is None:
        raise ValueError(f"architecture {arch!r} has no PyTorch peer")
    return peer


def build(arch: str) -> nn.Module:
    """The peer of an architecture's `best` preset (its registry entry's), in training mode."""
    return architectures.load(_peer(arch).model)().train()


def make_optimizer(arch: str, model: nn.Module) -> torch.optim.Optimizer:
    """The `best` preset's optimizer and learning rate (SGD 0.1 without momentum for the MLP,
    Adam 1e-3 for the CNN and the ResNet). The schedules only change the learning rate between
    epochs and cost nothing per step, so the peer leaves them out."""
    training = architectures.get(arch).presets["best"]["training"]
    name = training["optimizer"]
    if name not in config.OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(config.OPTIMIZERS)}")
    return OPTIMIZERS[name](model.parameters(), lr=training["learning_rate"])


def param_count(model: nn.Module) -> int:
    """Parameters plus BatchNorm's running mean and variance: what Keras's count_params() counts
    (its moving statistics are non-trainable weights; num_batches_tracked has no Keras twin)."""
    buffers = sum(b.numel() for name, b in model.named_buffers()
                  if name.endswith(("running_mean", "running_var")))
    return sum(p.numel() for p in model.parameters()) + buffers


def forward_flops(model: nn.Module) -> int:
    """Forward multiply-adds x 2 per image of the Linear and Conv2d layers (bias, BatchNorm,
    activations and pooling left out), the convention of bench_worker.forward_flops for Keras."""
    total = 0

    def count(module: nn.Module, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        # 2 x (inputs per output element) x (output elements per image)
        per_output = math.prod(module.weight.shape[1:])
        total += 2 * per_output * math.prod(output.shape[1:])

    hooks = [m.register_forward_hook(count) for m in model.modules()
             if isinstance(m, (nn.Linear, nn.Conv2d))]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 28, 28, dtype=torch.uint8))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return total


def compute_dtype(precision: str) -> str:
    """The dtype the peer's layers compute in at `precision` ("float32", "bfloat16", ...): its
    bench row's compute_dtype."""
    return str(AUTOCAST.get(precision, torch.float32)).removeprefix("torch.")


def device() -> torch.device:
    """Where the peer trains: the first CUDA GPU when there is one (where Keras trains too),
    else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def synchronize(where: torch.device) -> None:
    """Wait for the device's queued work (a CUDA step returns before the GPU has run it)."""
    if where.type == "cuda":
        torch.cuda.synchronize(where)


def make_step(arch: str, model: nn.Module, precision: str):
    """One plain training step (xb, yb) -> None: eager forward, cross-entropy, backward, update,
    on the device the model is on.

    Args:
        arch: the architecture (chooses the optimizer and the MLP's L1 penalty).
        model: the peer model, from build(arch), moved to its device.
        precision: "float32"; "mixed_bfloat16" for torch.autocast(bfloat16) around the forward
            pass (weights, gradients and the loss stay float32, as in Keras's mixed_bfloat16
            policy); "mixed_float16" for autocast(float16) with a GradScaler scaling the loss,
            as Keras's LossScaleOptimizer does under mixed_float16.
    """
    optimizer = make_optimizer(arch, model)
    # The L1 penalty that Keras adds to the loss every step (the MLP's 1e-5 on every kernel):
    # the peer adds the same so both sides do the same work.
    l1 = _peer(arch).l1
    kernels = [m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    where = next(model.parameters()).device.type
    dtype = AUTOCAST.get(precision)
    scaler = torch.amp.GradScaler(where, enabled=precision == "mixed_float16")

    def step(xb: torch.Tensor, yb: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(where, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            logits = model(xb)
        loss = F.cross_entropy(logits.float(), yb)
        if l1:
            loss = loss + l1 * sum(w.abs().sum() for w in kernels)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    return step
