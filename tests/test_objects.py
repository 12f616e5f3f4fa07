from __future__ import annotations

import pytest
import torch

from relnet.nn import ConvMLP, ConvObjects, ObjectRows, coordinate_grid, pad_objects


def test_conv_objects_are_cells_tagged_with_coordinates() -> None:
    extractor = ConvObjects(3, (8, 8, 8, 8))
    objects = extractor(torch.rand(2, 3, 75, 75))
    assert extractor.grid_size(75, 75) == (5, 5)
    assert objects.shape == (2, 25, 10)
    torch.testing.assert_close(objects[0, :, -2:], coordinate_grid(5, 5))
    # Row-major: first cell top-left, last bottom-right.
    assert objects[0, 0, -2:].tolist() == [-1.0, -1.0]
    assert objects[0, -1, -2:].tolist() == [1.0, 1.0]
    assert objects[0, 1, -2:].tolist() == [-0.5, -1.0]


def test_conv_objects_rejects_bad_shape() -> None:
    with pytest.raises(ValueError, match="images must have shape"):
        ConvObjects()(torch.rand(3, 75, 75))


def test_object_rows_and_padding() -> None:
    rows = ObjectRows(4, embed_dim=7)
    assert rows(torch.rand(2, 3, 4)).shape == (2, 3, 7)
    with pytest.raises(ValueError, match="object rows must have shape"):
        rows(torch.rand(2, 3, 5))
    padded, mask = pad_objects([torch.ones(2, 4), torch.ones(3, 4)])
    assert padded.shape == (2, 3, 4)
    assert mask.tolist() == [[True, True, False], [True, True, True]]
    with pytest.raises(ValueError, match="same d"):
        pad_objects([torch.ones(2, 4), torch.ones(2, 5)])


def test_conv_mlp_shapes() -> None:
    model = ConvMLP((75, 75), 12, channels=(4, 4, 4, 4), condition_dim=11, widths=(8,))
    assert model(torch.rand(3, 3, 75, 75), torch.rand(3, 11)).shape == (3, 12)
    with pytest.raises(ValueError, match="condition"):
        model(torch.rand(3, 3, 75, 75))
