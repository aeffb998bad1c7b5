"""Every registered model: output shape, finite values, gradients everywhere, parameter count.

Parametrised over `list_models()`, so a model is tested the moment it registers. Expected
parameter counts are computed here from per-layer formulas (weights + biases of each layer as
the book lists them), independently of the model code.
"""

from __future__ import annotations

import pytest
import torch

from d2lkit.models import create_model, get_entry, list_models

NUM_CLASSES = 7  # not the default 10, so a builder that ignores num_classes is caught
BATCH = 2  # batch norm needs more than one value per channel in training mode


def conv(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_out * c_in * k * k + (c_out if bias else 0)


def linear(f_in: int, f_out: int) -> int:
    return f_in * f_out + f_out


def bn(channels: int) -> int:
    return 2 * channels  # gamma and beta; running statistics are buffers


def lenet_params(c: int, k: int) -> int:
    return (
        conv(c, 6, 5) + conv(6, 16, 5) + linear(16 * 4 * 4, 120) + linear(120, 84) + linear(84, k)
    )


def alexnet_params(c: int, k: int) -> int:
    convs = conv(c, 96, 11) + conv(96, 256, 5) + conv(256, 384, 3) + conv(384, 384, 3)
    convs += conv(384, 256, 3)
    return convs + linear(256 * 5 * 5, 4096) + linear(4096, 4096) + linear(4096, k)


def vgg11_params(c: int, k: int, ratio: int = 8) -> int:
    channels = [64 // ratio, 128 // ratio, 256 // ratio, 256 // ratio]
    channels += [512 // ratio] * 4  # the 8 convolutions of VGG-11
    total, c_in = 0, c
    for c_out in channels:
        total += conv(c_in, c_out, 3)
        c_in = c_out
    hidden = 4096 // ratio
    return total + linear(c_in * 7 * 7, hidden) + linear(hidden, hidden) + linear(hidden, k)


def nin_params(c: int, k: int) -> int:
    def block(c_in: int, c_out: int, kernel: int) -> int:
        return conv(c_in, c_out, kernel) + 2 * conv(c_out, c_out, 1)

    return block(c, 96, 11) + block(96, 256, 5) + block(256, 384, 3) + block(384, k, 3)


def googlenet_params(c: int, k: int) -> int:
    def inception(c_in, c1, c2, c3, c4) -> int:
        return (
            conv(c_in, c1, 1)
            + conv(c_in, c2[0], 1)
            + conv(c2[0], c2[1], 3)
            + conv(c_in, c3[0], 1)
            + conv(c3[0], c3[1], 5)
            + conv(c_in, c4, 1)
        )

    splits = [
        (192, 64, (96, 128), (16, 32), 32),
        (256, 128, (128, 192), (32, 96), 64),
        (480, 192, (96, 208), (16, 48), 64),
        (512, 160, (112, 224), (24, 64), 64),
        (512, 128, (128, 256), (24, 64), 64),
        (512, 112, (144, 288), (32, 64), 64),
        (528, 256, (160, 320), (32, 128), 128),
        (832, 256, (160, 320), (32, 128), 128),
        (832, 384, (192, 384), (48, 128), 128),
    ]
    stem = conv(c, 64, 7) + conv(64, 64, 1) + conv(64, 192, 3)
    return stem + sum(inception(*split) for split in splits) + linear(1024, k)


def resnet18_stages_params(k: int) -> int:
    def residual(c_in: int, c_out: int, shortcut: bool) -> int:
        own = conv(c_in, c_out, 3) + conv(c_out, c_out, 3) + 2 * bn(c_out)
        return own + (conv(c_in, c_out, 1) if shortcut else 0)

    total = 2 * residual(64, 64, False)
    for c_in, c_out in ((64, 128), (128, 256), (256, 512)):
        total += residual(c_in, c_out, True) + residual(c_out, c_out, False)
    return total + linear(512, k)


def densenet_params(c: int, k: int) -> int:
    total, channels = conv(c, 64, 7) + bn(64), 64
    for index in range(4):
        for layer in range(4):  # conv_block: BN + 3x3 conv adding 32 channels
            total += bn(channels + 32 * layer) + conv(channels + 32 * layer, 32, 3)
        channels += 4 * 32
        if index < 3:
            total += bn(channels) + conv(channels, channels // 2, 1)
            channels //= 2
    return total + bn(channels) + linear(channels, k)


# torchvision's ResNet-18 (3 channels, 1000 classes, convs without bias) has 11,689,512
# parameters; FCN keeps everything but the 512 -> 1000 classifier and re-sizes the stem.
TORCHVISION_RESNET18 = 11_689_512


def fcn_params(c: int, k: int) -> int:
    body = TORCHVISION_RESNET18 - linear(512, 1000) - conv(3, 64, 7, bias=False)
    body += conv(c, 64, 7, bias=False)
    return body + conv(512, k, 1) + k * k * 64 * 64 + k  # + transposed conv (k, k, 64, 64) + bias


def fcn_small_params(c: int, k: int, widths: tuple[int, ...] = (16, 32, 64, 128)) -> int:
    def conv_bn(c_in: int, c_out: int) -> int:  # 3x3 convolution without bias, then batch norm
        return conv(c_in, c_out, 3, bias=False) + bn(c_out)

    stem = conv_bn(c, widths[0])
    stages = sum(conv_bn(a, b) + conv_bn(b, b) for a, b in zip(widths, widths[1:], strict=False))
    return stem + stages + sum(conv(w, k, 1) for w in widths)  # + one score layer per scale


def speednet_params(c: int, k: int, widths: tuple[int, int, int]) -> int:
    # 3x3 convs without bias, each followed by BatchNorm; a bias-free head.
    w0, w1, w2 = widths
    pairs = ((c, w0), (w0, w1), (w1, w1), (w1, w2), (w2, w2))
    return sum(conv(a, b, 3, bias=False) + bn(b) for a, b in pairs) + w2 * k


EXPECTED_PARAMS = {
    "linreg": lambda c, k: linear(c, k),
    "softmax": lambda c, k: linear(c * 28 * 28, k),
    "mlp": lambda c, k: linear(c * 784, 256) + linear(256, k),
    "mlp_dropout": lambda c, k: linear(c * 784, 256) + linear(256, 256) + linear(256, k),
    "lenet": lenet_params,
    "lenet_bn": lambda c, k: lenet_params(c, k) + bn(6) + bn(16) + bn(120) + bn(84),
    "alexnet": alexnet_params,
    "vgg11": vgg11_params,
    "nin": nin_params,
    "googlenet": googlenet_params,
    "resnet18": lambda c, k: conv(c, 64, 7) + bn(64) + resnet18_stages_params(k),
    "resnet18_small": lambda c, k: conv(c, 64, 3) + bn(64) + resnet18_stages_params(k),
    "densenet": densenet_params,
    "fcn_resnet18": fcn_params,
    "fcn_small": fcn_small_params,
    # 3x3 convs without bias, each followed by BatchNorm; a bias-free 64 -> k head.
    "speednet": lambda c, k: speednet_params(c, k, (16, 32, 64)),
    "speednet_wide": lambda c, k: speednet_params(c, k, (24, 48, 96)),
}


def expected_params(name: str, in_channels: int, num_classes: int) -> int:
    # A from-scratch model ("<name>_scratch") is the same architecture as its concise twin.
    base = name.removesuffix("_scratch")
    if base not in EXPECTED_PARAMS:
        pytest.fail(f"no independent parameter count for {name!r}: add it to EXPECTED_PARAMS")
    return EXPECTED_PARAMS[base](in_channels, num_classes)


def build(name: str, side: int | None = None) -> tuple[torch.nn.Module, torch.Tensor, int]:
    """The model and a batch at its default input size (or `side` x `side`)."""
    entry = get_entry(name)
    num_classes = 1 if entry.task == "regression" else NUM_CLASSES
    torch.manual_seed(0)
    model = create_model(name, num_classes=num_classes, in_channels=entry.input_size[0])
    size = entry.input_size if side is None else (entry.input_size[0], side, side)
    return model, torch.randn(BATCH, *size), num_classes


def expected_output_shape(name: str, num_classes: int) -> tuple[int, ...]:
    entry = get_entry(name)
    if entry.task == "segmentation":
        return (BATCH, num_classes, *entry.input_size[1:])
    return (BATCH, num_classes)  # classification scores, or (B, 1) for regression


def parameter_count(name: str, in_channels: int, num_classes: int) -> int:
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        model = create_model(name, num_classes=num_classes, in_channels=in_channels)
    return sum(p.numel() for p in model.parameters())


def test_anchor_figures():
    """Figures quoted elsewhere (the book, torchvision), for the built models and for the formulas
    above that test_parameter_count holds every model to."""
    assert parameter_count("lenet", 1, 10) == lenet_params(1, 10) == 44_426
    assert parameter_count("softmax", 1, 10) == 7_850  # 784 * 10 + 10
    assert parameter_count("alexnet", 1, 10) == alexnet_params(1, 10) == 46_764_746
    # torchvision's ResNet-18 body (11,176,512), a 1x1 score conv, the transposed conv; with biases.
    fcn = parameter_count("fcn_resnet18", 3, 21)
    assert fcn == fcn_params(3, 21) == 11_176_512 + 512 * 21 + 21 + 21 * 21 * 64 * 64 + 21


@pytest.mark.parametrize("name", list_models())
def test_forward_shape_and_finite(name):
    model, x, num_classes = build(name)
    model.eval()
    with torch.no_grad():
        out = model(x)
    assert tuple(out.shape) == expected_output_shape(name, num_classes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", list_models())
def test_backward_reaches_every_parameter(name, small_sides):
    # Every layer runs at any size the model accepts, so the cheapest one will do.
    model, x, _ = build(name, small_sides.get(name))
    model.train()
    model(x).square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing}"
    bad = [n for n, p in model.named_parameters() if not torch.isfinite(p.grad).all()]
    assert not bad, f"non-finite gradient for {bad}"
    assert any(p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("name", list_models())
def test_parameter_count(name):
    entry = get_entry(name)
    in_channels = entry.input_size[0]
    num_classes = 1 if entry.task == "regression" else NUM_CLASSES
    counted = parameter_count(name, in_channels, num_classes)
    assert counted == expected_params(name, in_channels, num_classes)


@pytest.mark.parametrize("name", list_models())
def test_builder_takes_in_channels(name):
    """Three-channel images (ImageFolder, VOC) work with every image model."""
    entry = get_entry(name)
    if entry.task == "regression":
        pytest.skip("in_channels is the feature count for regression")
    with torch.device("meta"):
        model = create_model(name, num_classes=NUM_CLASSES, in_channels=3)
        out = model.eval()(torch.empty(1, 3, *entry.input_size[1:]))
    assert out.shape[:2] == (1, NUM_CLASSES)
    assert sum(p.numel() for p in model.parameters()) == expected_params(name, 3, NUM_CLASSES)


def test_vgg11_full_width_parameter_count():
    with torch.device("meta"):
        model = create_model("vgg11", num_classes=10, in_channels=3, ratio=1)
    # The original VGG-11 (ImageNet, 1000 classes) has 132,863,336 parameters; ours has 10 classes.
    assert sum(p.numel() for p in model.parameters()) == vgg11_params(3, 10, ratio=1)
    assert vgg11_params(3, 1000, ratio=1) == 132_863_336
