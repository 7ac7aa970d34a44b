"""The backbones: the small CNN's channels-last layout against an NCHW reference."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def test_small_cnn_channels_last_matches_nchw_reference():
    from torch.nn import functional as F

    from sklearn_clmle.embedding.nn import SmallCNN

    torch.manual_seed(0)
    net = SmallCNN(2, 8).eval()
    x = torch.rand(5, 2, 12, 10)  # NCHW, as users pass images
    conv1, conv2, lin = net.body[0], net.body[3], net.body[8]
    assert conv1.weight.is_contiguous(memory_format=torch.channels_last)
    h = F.max_pool2d(F.relu(F.conv2d(x, conv1.weight.contiguous(), conv1.bias,
                                     padding=1)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, conv2.weight.contiguous(), conv2.bias,
                                     padding=1)), 2)
    ref = F.relu(F.linear(h.mean(dim=(2, 3)), lin.weight, lin.bias))
    with torch.no_grad():
        out = net(x)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    assert x.is_contiguous()  # the input is not converted in place


@pytest.mark.parametrize("shape", [(60, 5, 1, 1), (60, 3, 3), (60, 2, 8, 3)])
def test_images_smaller_than_the_cnn_are_refused_clearly(shape):
    from sklearn_clmle import CLMLEEmbedder, LongTailNetClassifier

    X = np.random.RandomState(0).rand(*shape).astype(np.float32)
    y = np.arange(60) % 2
    for est in (CLMLEEmbedder(warmup_epochs=1, n_rounds=1, steps_per_round=1,
                              device="cpu", random_state=0),
                LongTailNetClassifier(epochs=1, device="cpu", random_state=0)):
        with pytest.raises(ValueError, match=r"at least 4 x 4 pixels.*input_shape="):
            est.fit(X, y)
