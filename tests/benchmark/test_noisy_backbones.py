"""The noisy-label suite's trunks (benchmark/suites/noisy_labels/backbones.py): torchvision's models less their last
layer, the CIFAR stem, VGG's hidden truncation, weights files and frozen batch norm."""

import pytest
import torch
import torchvision
from torch import nn

from benchmark.suites.noisy_labels.backbones import BACKBONES, build_trunk, weights_hint
from benchmark.suites.noisy_labels.losses import nested_truncate

UNPICKLED = []


class Marker:
    """A custom object: unpickling it would record itself in UNPICKLED."""

    def __setstate__(self, state):
        UNPICKLED.append(state)
        self.__dict__.update(state)


def _images(n=2, size=32, seed=0):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _resnet_features(net, x):
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    x = net.layer4(net.layer3(net.layer2(net.layer1(x))))
    return torch.flatten(net.avgpool(x), 1)


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory):
    torch.manual_seed(0)
    net = torchvision.models.resnet18().eval()
    with torch.no_grad():  # non-trivial running statistics, so that loading them is checked too
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(net.state_dict(), path)
    return net, path


@pytest.fixture(scope="module")
def vgg(tmp_path_factory):
    """torchvision's vgg19_bn (seeded, eval, dropout 0), its state dict on disk, and the trunk loaded from it."""
    torch.manual_seed(1)
    net = torchvision.models.vgg19_bn(dropout=0.0).eval()
    path = tmp_path_factory.mktemp("weights") / "vgg19_bn.pth"
    torch.save(net.state_dict(), path)
    trunk = build_trunk("vgg19_bn", weights=path).eval()
    return net, path, trunk


def test_feature_dims_and_shapes_of_the_resnets_and_the_small_cnn():
    expected = {"small_cnn": 4 * 3, "resnet18": 512, "resnet50": 2048, "cifar_resnet18": 512, "cifar_resnet34": 512}
    x = _images()
    for name, dim in expected.items():
        trunk = build_trunk(name, width=3).eval()
        with torch.no_grad():
            z = trunk(x)
        assert trunk.feature_dim == dim and z.shape == (2, dim) and trunk.hidden_dim is None, name
        assert not any(isinstance(module, nn.Linear) for module in trunk.modules()), name  # no fc kept
    assert set(expected) | {"vgg19_bn"} == set(BACKBONES)


def test_resnet18_trunk_is_torchvisions_model_less_fc(resnet18_file):
    net, path = resnet18_file
    trunk = build_trunk("resnet18")
    own, theirs = trunk.state_dict(), net.state_dict()
    assert set(theirs) - set(own) == {"fc.weight", "fc.bias"} and set(own) <= set(theirs)
    assert all(own[key].shape == theirs[key].shape for key in own)
    trunk.load_state_dict({key: value for key, value in theirs.items() if not key.startswith("fc.")})
    x = _images(seed=2)
    with torch.no_grad():
        torch.testing.assert_close(trunk.eval()(x), _resnet_features(net, x), atol=1e-6, rtol=0)


def test_vgg_trunk_is_torchvisions_classifier_less_its_last_layer(vgg):
    net, _, trunk = vgg
    assert trunk.feature_dim == trunk.hidden_dim == 4096
    assert set(net.state_dict()) - set(trunk.state_dict()) == {"classifier.6.weight", "classifier.6.bias"}
    assert not any(isinstance(m, nn.Dropout) and m.p for m in trunk.modules())
    assert [m.p for m in build_trunk("vgg19_bn", dropout=0.3).modules() if isinstance(m, nn.Dropout)] == [0.3, 0.3]
    x = _images(size=64, seed=3)
    with torch.no_grad():
        expected = net.classifier[:5](torch.flatten(net.avgpool(net.features(x)), 1))
        got = trunk(x)
    assert got.shape == (2, 4096)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_cifar_stem():
    trunk = build_trunk("cifar_resnet34").eval()
    conv = trunk.conv1
    assert (conv.kernel_size, conv.stride, conv.padding, conv.out_channels, conv.bias) == ((3, 3), (1, 1), (1, 1), 64,
                                                                                           None)
    assert isinstance(trunk.maxpool, nn.Identity)
    assert [len(trunk.layer1), len(trunk.layer2), len(trunk.layer3), len(trunk.layer4)] == [3, 4, 6, 3]  # ResNet-34
    x = _images(size=32)
    with torch.no_grad():
        assert trunk.maxpool(trunk.relu(trunk.bn1(trunk.conv1(x)))).shape == (2, 64, 32, 32)
        assert trunk.layer4(trunk.layer3(trunk.layer2(trunk.layer1(trunk.conv1(x))))).shape == (2, 512, 4, 4)
    assert [len(build_trunk("cifar_resnet18").layer1)] == [2]


def test_vgg_hidden_width_keeps_the_first_units(vgg):
    _, _, trunk = vgg
    x = _images(size=64, seed=4)
    with torch.no_grad():
        hidden = trunk.classifier[:3](torch.flatten(trunk.avgpool(trunk.features(x)), 1))
        for k in (1, 100, 4096):
            expected = trunk.classifier[3:](nested_truncate(hidden, k))
            torch.testing.assert_close(trunk(x, hidden_width=k), expected, atol=1e-6, rtol=0)
        # equivalently: the hidden units >= k do not matter once truncated
        fc2 = trunk.classifier[3]
        saved = fc2.weight[:, 100:].clone()
        fc2.weight[:, 100:] = 0
        try:
            torch.testing.assert_close(trunk(x), trunk(x, hidden_width=100), atol=1e-6, rtol=0)
        finally:
            fc2.weight[:, 100:] = saved
        assert not torch.allclose(trunk(x), trunk(x, hidden_width=100))
    with pytest.raises(ValueError, match="k must be in 1..4096"):
        trunk(x, hidden_width=5000)


def test_hidden_width_is_refused_for_other_trunks():
    for name in ("small_cnn", "cifar_resnet18"):
        trunk = build_trunk(name, width=2)
        with pytest.raises(ValueError, match=f"vgg19_bn's 4096 hidden units only; {name} has no hidden layer"):
            trunk(_images(), hidden_width=3)


def test_weights_round_trip_resnet18(resnet18_file):
    net, path = resnet18_file
    trunk = build_trunk("resnet18", weights=str(path)).eval()
    x = _images(seed=5)
    with torch.no_grad():
        torch.testing.assert_close(trunk(x), _resnet_features(net, x), atol=1e-6, rtol=0)
    for key, value in trunk.state_dict().items():
        torch.testing.assert_close(value, net.state_dict()[key], atol=0, rtol=0)


def test_weights_round_trip_vgg_loads_classifier_keys(vgg):
    net, _, trunk = vgg
    for key in ("classifier.0.weight", "classifier.3.bias", "features.0.weight", "features.1.running_var"):
        torch.testing.assert_close(trunk.state_dict()[key], net.state_dict()[key], atol=0, rtol=0)


def test_a_file_without_num_batches_tracked_loads(resnet18_file, tmp_path):
    net, _ = resnet18_file
    old = {key: value for key, value in net.state_dict().items() if not key.endswith("num_batches_tracked")}
    torch.save(old, tmp_path / "old.pth")
    trunk = build_trunk("resnet18", weights=tmp_path / "old.pth")
    torch.testing.assert_close(trunk.bn1.running_var, net.bn1.running_var, atol=0, rtol=0)


def test_unknown_name_and_misplaced_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown backbone 'resnet101'; choose one of small_cnn, resnet18, resnet50, "
                                         "vgg19_bn, cifar_resnet18, cifar_resnet34"):
        build_trunk("resnet101")
    with pytest.raises(ValueError, match="small_cnn has no pretrained weights"):
        build_trunk("small_cnn", weights=tmp_path / "x.pth")
    with pytest.raises(ValueError, match="dropout=0.2 is vgg19_bn's hidden-layer dropout; resnet18"):
        build_trunk("resnet18", dropout=0.2)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        build_trunk("vgg19_bn", dropout=1.0)


def test_missing_file_gives_the_download_command(tmp_path):
    missing = tmp_path / "nowhere.pth"
    hint = weights_hint("resnet18")
    assert "torchvision.models.resnet18(weights='IMAGENET1K_V1').state_dict(), 'resnet18-imagenet.pth'" in hint
    assert "--weights resnet18-imagenet.pth" in hint
    with pytest.raises(FileNotFoundError) as error:
        build_trunk("resnet18", weights=missing)
    message = str(error.value)
    assert f"no weights file at {missing}" in message and "cannot be downloaded" in message and hint in message
    assert "\n" not in message
    assert "torchvision.models.vgg19_bn(weights='IMAGENET1K_V1')" in weights_hint("vgg19_bn")
    with pytest.raises(ValueError, match="no ImageNet weights for 'cifar_resnet34'"):
        weights_hint("cifar_resnet34")
    with pytest.raises(FileNotFoundError, match="cifar_resnet18 trains from scratch"):
        build_trunk("cifar_resnet18", weights=missing)


STATE_DICT_MESSAGE = r"must be a torchvision state dict saved with torch.save\(model.state_dict\(\)\)"


def test_unreadable_files_are_refused(tmp_path):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"this is not a torch file\x00\x01\x02" * 10)
    with pytest.raises(ValueError, match=f"cannot read {garbage}.*{STATE_DICT_MESSAGE}") as error:
        build_trunk("resnet18", weights=garbage)
    assert "\n" not in str(error.value)


def test_a_pickled_object_is_refused_without_being_unpickled(tmp_path):
    marker = Marker()
    marker.payload = 1
    path = tmp_path / "custom.pth"
    torch.save({"conv1.weight": torch.zeros(1), "extra": marker}, path)
    with pytest.raises(ValueError, match=f"cannot read {path}.*{STATE_DICT_MESSAGE}") as error:
        build_trunk("resnet18", weights=path)
    assert "\n" not in str(error.value)
    assert UNPICKLED == []
    assert isinstance(torch.load(path, weights_only=False)["extra"], Marker) and UNPICKLED  # the file is sound
    del UNPICKLED[:]
    model = tmp_path / "model.pth"
    torch.save(nn.Sequential(nn.Linear(2, 2)), model)  # a full pickled model instead of its state dict
    with pytest.raises(ValueError, match=f"cannot read {model}.*{STATE_DICT_MESSAGE}"):
        build_trunk("resnet18", weights=model)


@pytest.mark.parametrize("content", [[torch.zeros(2)], {"conv1.weight": 3}, {"state_dict": {"a": torch.zeros(1)}}])
def test_objects_that_are_not_state_dicts_are_refused(tmp_path, content):
    path = tmp_path / "not_a_state_dict.pth"
    torch.save(content, path)
    with pytest.raises(ValueError, match=f"{path}.*{STATE_DICT_MESSAGE}"):
        build_trunk("resnet18", weights=path)


@pytest.mark.parametrize("edit, expected", [
    ("drop", r"missing keys: layer1.0.bn1.bias, layer1.0.conv1.weight, layer2.0.bn1.bias \(and 1 more\)"),
    ("add", r"unexpected keys: head.bias, head.weight"),
    ("reshape", r"shape mismatches: layer4.1.conv2.weight \(512, 512, 1, 1\) != \(512, 512, 3, 3\)"),
])
def test_mismatched_state_dicts_are_refused(resnet18_file, tmp_path, edit, expected):
    state = dict(resnet18_file[0].state_dict())
    if edit == "drop":
        for key in ("layer1.0.conv1.weight", "layer1.0.bn1.bias", "layer2.0.bn1.bias", "layer3.0.bn1.bias"):
            del state[key]
    elif edit == "add":
        state["head.weight"], state["head.bias"] = torch.zeros(3, 512), torch.zeros(3)
    else:
        state["layer4.1.conv2.weight"] = torch.zeros(512, 512, 1, 1)
    path = tmp_path / "edited.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match=rf"{path} does not fit resnet18 \(torchvision.models.resnet18\(\) without "
                                         rf"fc.weight, fc.bias\): {expected}") as error:
        build_trunk("resnet18", weights=path)
    assert "\n" not in str(error.value)


def test_imagenet_weights_are_refused_for_the_cifar_stem(resnet18_file):
    _, path = resnet18_file
    with pytest.raises(ValueError, match=r"conv1.weight of shape \(64, 3, 7, 7\) \(an ImageNet stem\) but "
                                         r"cifar_resnet18 has the CIFAR stem \(64, 3, 3, 3\): pretrained weights are "
                                         r"not part of the CIFAR recipe"):
        build_trunk("cifar_resnet18", weights=path)


def test_frozen_batch_norm(resnet18_file):
    _, path = resnet18_file
    trunk = build_trunk("resnet18", weights=path, freeze_bn=True)
    wrapper = nn.Sequential(trunk, nn.Linear(512, 3))
    wrapper.train()
    bns = [m for m in trunk.modules() if isinstance(m, nn.BatchNorm2d)]
    assert trunk.training and wrapper[1].training and bns and not any(bn.training for bn in bns)
    trunk.train()
    assert not any(bn.training for bn in bns)
    before = [(bn.running_mean.clone(), bn.running_var.clone(), bn.num_batches_tracked.clone()) for bn in bns]
    wrapper(_images(n=4, seed=6) * 3 + 1).square().sum().backward()
    for bn, (mean, var, count) in zip(bns, before):
        assert torch.equal(bn.running_mean, mean) and torch.equal(bn.running_var, var)
        assert torch.equal(bn.num_batches_tracked, count)
        assert bn.weight.grad is None and bn.bias.grad is None and not bn.weight.requires_grad
    assert trunk.conv1.weight.grad is not None and trunk.conv1.weight.grad.abs().sum() > 0
    assert trunk.layer4[1].conv2.weight.grad.abs().sum() > 0
    wrapper.eval()
    wrapper.train()
    assert not any(bn.training for bn in bns)
    # without freeze_bn the same forward pass does update the statistics and train the affine parameters
    free = build_trunk("resnet18", weights=path).train()
    free(_images(n=4, seed=6) * 3 + 1).square().sum().backward()
    assert not torch.equal(free.bn1.running_mean, before[0][0]) and free.bn1.weight.grad is not None
    assert free.bn1.training


def test_frozen_batch_norm_small_cnn():
    trunk = build_trunk("small_cnn", width=2, freeze_bn=True).train()
    bn = next(m for m in trunk.modules() if isinstance(m, nn.BatchNorm2d))
    mean = bn.running_mean.clone()
    trunk(_images(seed=7) + 2).sum().backward()
    assert not bn.training and torch.equal(bn.running_mean, mean) and bn.weight.grad is None
