"""The noisy-label suite's offline networks and the nested classifier's read-out at every width."""

import pytest
import torch

from benchmark.suites.noisy_labels.losses import nested_truncate
from benchmark.suites.noisy_labels.models import FeatureClassifier, SmallCNN, accuracy_per_width, best_width


def _model(seed=0, num_classes=5, width=4):
    torch.manual_seed(seed)
    backbone = SmallCNN(in_channels=3, width=width)
    return FeatureClassifier(backbone, backbone.feature_dim, num_classes, bias=False).double().eval()


def test_small_cnn_and_the_nested_forward():
    model = _model()
    x = torch.randn(6, 3, 32, 32, dtype=torch.float64)
    z = model.features(x)
    assert z.shape == (6, 16) and model.classifier.bias is None
    torch.testing.assert_close(model(x, width=5), nested_truncate(z, 5) @ model.classifier.weight.T)
    torch.testing.assert_close(model(x), z @ model.classifier.weight.T)
    model.train()
    torch.manual_seed(1)
    dropped = model(x, dropout=0.5)
    assert not torch.allclose(dropped, model(x))  # dropout acts in training mode only
    model.eval()
    torch.testing.assert_close(model(x, dropout=0.5), model(x))


def test_accuracy_at_every_width_equals_one_forward_per_width():
    model = _model(seed=2)
    x = torch.randn(40, 3, 32, 32, dtype=torch.float64)
    labels = torch.randint(0, 5, (40,), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        got = accuracy_per_width(model.features(x), model.classifier.weight, labels, chunk=7)
        expected = torch.tensor([(model(x, width=k).argmax(1) == labels).double().mean().item() for k in range(1, 17)],
                                dtype=torch.float64)
    torch.testing.assert_close(got, expected)


def test_best_width_prefers_the_smaller_on_ties():
    f64 = dict(dtype=torch.float64)
    assert best_width(torch.tensor([0.5, 0.7, 0.7, 0.6], **f64)) == 2  # a tie: the smaller K
    assert best_width(torch.tensor([0.70, 0.700005, 0.5], **f64)) == 1  # within 1e-5 per step: still the smaller
    assert best_width(torch.tensor([0.70, 0.70002, 0.5], **f64)) == 2  # a real gain beats the tie-break
    with pytest.raises(ValueError, match=r"one value per width, shape \(D,\) with D >= 1; got \(0,\)"):
        best_width(torch.tensor([]))


def test_accuracy_per_width_of_several_networks_reads_their_summed_logits():
    torch.manual_seed(3)
    feats, weights = [torch.randn(40, 5), torch.randn(40, 5)], [torch.randn(3, 5), torch.randn(3, 5)]
    labels = torch.randint(0, 3, (40,))
    got = accuracy_per_width(feats, weights, labels, chunk=7)
    for k in range(1, 6):
        z = sum(f[:, :k] @ w[:, :k].T for f, w in zip(feats, weights))
        assert got[k - 1] == pytest.approx(float((z.argmax(1) == labels).double().mean()))
