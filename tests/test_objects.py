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


@pytest.mark.parametrize("size", [75, 128])
def test_cell_centres_are_where_each_cell_looks(size: int) -> None:
    """The receptive field of every cell is symmetric about its centre: with all weights 1, the
    gradient of one cell's output over the input peaks at (and is mirror-symmetric about) the
    centre ``cell_centres`` gives, wherever the field is not cut by the image edge."""
    objects = ConvObjects(1, (1, 1, 1, 1), batch_norm=False)
    for conv in objects.cnn.modules():
        if isinstance(conv, torch.nn.Conv2d):
            torch.nn.init.ones_(conv.weight)
            torch.nn.init.zeros_(conv.bias)
    centres = objects.cell_centres(size, size)
    rows, columns = objects.grid_size(size, size)
    assert centres.shape == (rows * columns, 2)
    image = torch.ones(1, 1, size, size, requires_grad=True)
    cell = columns + 2  # row 1, column 2: its field lies inside the image
    objects(image)[0, cell, 0].backward()
    weight = image.grad[0, 0]
    ys, xs = torch.nonzero(weight, as_tuple=True)
    field_centre = torch.stack([(xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2]).double() + 0.5
    assert torch.equal(field_centre, centres[cell])
    peak = torch.nonzero(weight == weight.max()).double().mean(0).flip(0) + 0.5
    assert torch.allclose(peak, centres[cell])
