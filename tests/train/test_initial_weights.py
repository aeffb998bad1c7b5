"""--init: torchvision ResNet-18 state_dicts and d2lkit runs as starting weights; --head-lr-mult."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest
import torch
from PIL import Image
from torchvision.models import resnet18 as torchvision_resnet18
from torchvision.transforms.functional import rgb_to_grayscale

from d2lkit.errors import D2lkitError
from d2lkit.models.registry import create_model
from d2lkit.train.config import TrainConfig
from d2lkit.train.initial_weights import InitialWeights, load_initial_weights
from d2lkit.train.run import build_run


def randomised_torchvision_resnet(num_classes: int = 1000) -> torch.nn.Module:
    """torchvision's ResNet-18 with non-trivial batch-norm statistics (fresh ones are 0 and 1,
    which would hide a wrongly folded shortcut)."""
    torch.manual_seed(0)
    model = torchvision_resnet18(weights=None, num_classes=num_classes)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.fixture(scope="module")
def torchvision_file(tmp_path_factory) -> tuple[Path, torch.nn.Module]:
    model = randomised_torchvision_resnet()
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(model.state_dict(), path)
    return path, model


def test_torchvision_state_dict_loads_into_d2lkit_resnet18_and_swaps_the_head(torchvision_file):
    path, _ = torchvision_file
    saved = torch.load(path, weights_only=True)
    model = create_model("resnet18", num_classes=2, in_channels=3)
    fresh_head = model.fc.weight.detach().clone()
    left = load_initial_weights(model, path, "resnet18").fresh
    assert torch.equal(model.b3[1].conv2.weight, saved["layer2.1.conv2.weight"])
    assert torch.equal(model.b1[0].weight, saved["conv1.weight"])
    assert torch.equal(model.b5[0].bn1.running_var, saved["layer4.0.bn1.running_var"])
    assert model.fc.weight.shape == (2, 512)  # the new class count ...
    assert torch.equal(model.fc.weight, fresh_head)  # ... with its fresh initialisation
    assert left == ["fc.bias", "fc.weight"]


def test_converted_network_computes_what_torchvision_computes(torchvision_file):
    """With 1000 classes every tensor transfers, the folded shortcut included: in eval mode the
    two networks agree on the logits."""
    path, reference = torchvision_file
    model = create_model("resnet18", num_classes=1000, in_channels=3)
    assert load_initial_weights(model, path, "resnet18") == InitialWeights(fresh=[], unused=[])
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), reference(x), atol=1e-4, rtol=1e-4)


def test_rgb_stem_sums_over_colour_for_gray_models(torchvision_file):
    """A gray image is RGB with three equal channels, so the 1-channel model must give the
    torchvision model's output on the gray image repeated three times."""
    path, reference = torchvision_file
    model = create_model("resnet18", num_classes=1000, in_channels=1)
    load_initial_weights(model, path, "resnet18")
    gray = torch.randn(2, 1, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = reference(gray.expand(-1, 3, -1, -1))
        assert torch.allclose(model.eval()(gray), expected, atol=1e-4, rtol=1e-4)


def test_gray_stem_spreads_over_colour_by_luma_for_rgb_models(tmp_path):
    """Weights trained on Fashion-MNIST (gray) into a model for an RGB image folder: the first
    convolution is kept, not left fresh, and the RGB model computes what the gray model computes
    on the image converted to gray by torchvision."""
    torch.manual_seed(3)
    gray_model = create_model("resnet18_small", num_classes=10, in_channels=1).eval()
    path = tmp_path / "gray.pt"
    torch.save(gray_model.state_dict(), path)
    rgb_model = create_model("resnet18_small", num_classes=10, in_channels=3).eval()
    assert load_initial_weights(rgb_model, path, "resnet18_small").fresh == []
    rgb = torch.rand(2, 3, 28, 28, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        expected = gray_model(rgb_to_grayscale(rgb))
        assert torch.allclose(rgb_model(rgb), expected, atol=1e-5, rtol=1e-5)


def test_fcn_resnet18_takes_the_body(torchvision_file):
    path, _ = torchvision_file
    saved = torch.load(path, weights_only=True)
    model = create_model("fcn_resnet18", num_classes=11, in_channels=3)
    left = load_initial_weights(model, path, "fcn_resnet18").fresh
    assert torch.equal(
        model.body.layer3[0].downsample[1].running_mean, saved["layer3.0.downsample.1.running_mean"]
    )
    assert all(name.startswith(("final_conv", "transpose_conv")) for name in left)


def test_the_file_tensors_left_unused_are_reported(torchvision_file, tmp_path):
    """ResNet-34 weights into resnet18 filled the same model tensors as ResNet-18's and said
    nothing of the 112 file tensors (its extra blocks) thrown away."""
    from torchvision.models import resnet34

    path, _ = torchvision_file
    right = load_initial_weights(create_model("resnet18", num_classes=2), path, "resnet18")
    assert right.unused == ["fc.bias", "fc.weight"]  # the 1000-class head: shapes differ
    wrong = tmp_path / "resnet34.pth"
    torch.save(resnet34(weights=None).state_dict(), wrong)
    model = create_model("resnet18", num_classes=2)
    loaded = load_initial_weights(model, wrong, "resnet18")
    assert loaded.fresh == right.fresh and len(loaded.unused) == 112 + 2  # blocks, the head
    assert "b2.2.conv1.weight" in loaded.unused  # the third block of layer1: resnet18 has two


@pytest.mark.parametrize(
    "wrap",
    [
        lambda state: {"state_dict": state, "epoch": 3},  # Lightning's and timm's checkpoints
        lambda state: {f"module.{name}": v for name, v in state.items()},  # saved under DDP
    ],
    ids=["state_dict-key", "ddp-prefix"],
)
def test_weights_in_common_wrappings_load_as_the_plain_file_does(torchvision_file, tmp_path, wrap):
    path, _ = torchvision_file
    wrapped = tmp_path / "wrapped.pth"
    torch.save(wrap(torch.load(path, weights_only=True)), wrapped)
    model = create_model("resnet18", num_classes=2)
    assert load_initial_weights(model, wrapped, "resnet18").fresh == ["fc.bias", "fc.weight"]


def test_a_pickled_whole_model_is_refused_with_the_state_dict_way(tmp_path):
    path = tmp_path / "whole.pth"
    torch.save(torchvision_resnet18(weights=None), path)
    with pytest.raises(D2lkitError, match=r"refused: .*save model\.state_dict\(\)"):
        load_initial_weights(create_model("resnet18"), path, "resnet18")


def test_weights_from_another_architecture_are_refused(tmp_path):
    path = tmp_path / "lenet.pth"
    torch.save(create_model("lenet").state_dict(), path)
    with pytest.raises(D2lkitError, match="none of its tensors fit model resnet18_small"):
        load_initial_weights(create_model("resnet18_small"), path, "resnet18_small")


def first_tensor_as(change) -> dict:
    """LeNet's weights with the first, `0.weight`, changed by `change`."""
    state = create_model("lenet").state_dict()
    return {name: change(v) if name == "0.weight" else v for name, v in state.items()}


@pytest.mark.parametrize(
    "state, message",
    [
        ({**create_model("lenet").state_dict(), 1: torch.zeros(1)}, "key 1 is not a name"),
        (first_tensor_as(torch.Tensor.to_sparse), "'0.weight' is a sparse_coo tensor"),
        # Each of these load_state_dict would cast into float32 without a word (complex with a
        # warning that it drops the imaginary part; fp8 without its scale).
        (first_tensor_as(lambda v: v.to(torch.complex64)), "'0.weight' holds complex64 values"),
        (first_tensor_as(lambda v: v.to(torch.float8_e4m3fn)), "'0.weight' holds float8_e4m3fn"),
        (first_tensor_as(lambda v: v.to(torch.int64)), "'0.weight' holds int64 values"),
        (first_tensor_as(lambda v: v > 0), "'0.weight' holds bool values"),
    ],
    ids=["int-key", "sparse", "complex", "fp8", "int64", "bool"],
)
def test_what_is_no_named_dense_float_tensor_is_refused_naming_it(tmp_path, state, message):
    path = tmp_path / "odd.pt"
    torch.save(state, path)
    model = create_model("lenet")
    before = {name: v.clone() for name, v in model.state_dict().items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one line for the user: no warning beside it
        with pytest.raises(D2lkitError, match=rf"odd\.pt: {re.escape(message)}"):
            load_initial_weights(model, path, "lenet")
    assert all(torch.equal(v, before[name]) for name, v in model.state_dict().items())


def write_tree(root: Path) -> None:
    for split in ("train", "test"):
        for label, name in enumerate(("hotdog", "not-hotdog")):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (40, 40), (200 * label, 50 + i, 90)).save(folder / f"{i}.png")


def test_train_with_init_and_head_lr_mult_gives_the_new_head_ten_times_the_lr(
    torchvision_file, tmp_path
):
    path, _ = torchvision_file
    write_tree(tmp_path / "hotdog")
    config = TrainConfig(
        "resnet18", dataset=f"imagefolder:{tmp_path / 'hotdog'}", resize=32, epochs=1,
        batch_size=4, optimizer="sgd", lr=0.01, init=str(path), head_lr_mult=10, progress=False,
    )  # fmt: skip
    run = build_run(config, tmp_path / "run")
    saved = torch.load(path, weights_only=True)
    assert torch.equal(run.model.b2[0].conv1.weight.cpu(), saved["layer1.0.conv1.weight"])
    body, head = run.trainer.optimizer.param_groups
    assert body["lr"] == 0.01 and head["lr"] == pytest.approx(0.1)
    assert {id(p) for p in head["params"]} == {id(run.model.fc.weight), id(run.model.fc.bias)}
    assert run.model.fc.out_features == 2
    assert run.fresh_after_init == ["fc.bias", "fc.weight"]  # the new head, and nothing else


def test_the_train_summary_says_what_init_left_fresh(tmp_path, tiny_fashion, capsys):
    """Gray LeNet weights into an RGB image folder's LeNet: the first conv and the head of
    another class count stay fresh, and the user is told so."""
    from d2lkit.cli import main

    gray = tmp_path / "gray"
    assert main(["train", "lenet", "--epochs", "1", "--no-progress", "--out", str(gray)]) == 0
    write_tree(tmp_path / "hotdog")
    rgb = tmp_path / "rgb"
    argv = ["train", "lenet", "--dataset", f"imagefolder:{tmp_path / 'hotdog'}", "--resize", "28"]
    argv += ["--epochs", "1", "--no-progress", "--init", str(gray), "--out", str(rgb)]
    capsys.readouterr()
    assert main(argv) == 0
    fresh = json.loads((rgb / "summary.json").read_text())["fresh_after_init"]
    assert fresh and all(name.endswith(("weight", "bias")) for name in fresh)
    out = capsys.readouterr().out
    assert f"--init left {len(fresh)} tensors as initialised: {fresh[0]}" in out
    # The file's first conv and head have other shapes: the same layers, not other ones.
    assert sorted(json.loads((rgb / "summary.json").read_text())["unused_from_init"]) == fresh
    assert "found no place" not in out
    extra = tmp_path / "extra.pt"  # a layer the model does not have
    weights = torch.load(gray / "checkpoint.pt", weights_only=True)["model"]
    torch.save({**weights, "extra.weight": torch.zeros(3)}, extra)
    argv[argv.index(str(gray))] = str(extra)
    argv[-1] = str(tmp_path / "rgb2")
    assert main(argv) == 0
    assert "--init found no place for 1 of its file's tensors" in capsys.readouterr().out
