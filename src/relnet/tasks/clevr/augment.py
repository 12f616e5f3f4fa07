"""Training-time augmentation of CLEVR images, as in the RN paper (Supp. B).

The paper pads the 128×128 image to 136×136, crops a random 128×128 window back out and rotates it
by a random angle in [-0.05, 0.05] rad. Both moves are small enough that every answer stays true:
left/right/front/behind are judged from the scene, and a 4-pixel shift or a 3° turn never swaps two
objects' order. Here the pad-and-crop is an integer shift of up to ``shift`` pixels in x and y, and
both moves are one affine resampling (``affine_grid`` + ``grid_sample``) for the whole batch. Pixels
from outside the image repeat its edge (the CLEVR background), where zero padding would paint black
bars the model never sees at test time.

Every question about one image gets the same transform (drawn per distinct ``image_index``): the pixel
models encode each distinct image of a batch once, so a group of questions sharing an image must still
share one image. Questions, answers and state rows pass through unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from relnet.data.tables import Batch

PAD = 4  # pixels: 128 padded to 136, then cropped back to 128
MAX_ROTATION = 0.05  # radians


def random_transforms(
    image_index: torch.Tensor, *, shift: int = PAD, max_rotation: float = MAX_ROTATION
) -> tuple[torch.Tensor, torch.Tensor]:
    """One random shift and angle per distinct image, repeated for each of its questions.

    ``image_index`` ``(B,)`` → shifts ``(B, 2)`` long (x, y pixels in [-shift, shift]) and angles
    ``(B,)`` float (radians in [-max_rotation, max_rotation]). Draws from torch's global generator.
    """
    _, inverse = torch.unique(image_index, return_inverse=True)
    count = int(inverse.max()) + 1 if len(inverse) else 0
    shifts = torch.randint(-shift, shift + 1, (count, 2), device=image_index.device)
    angles = (torch.rand(count, device=image_index.device) * 2 - 1) * max_rotation
    return shifts[inverse], angles[inverse]


def transform_images(images: torch.Tensor, shifts: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate each image about its centre by ``angles`` and shift it by ``shifts``, edges repeated.

    ``images`` ``(B, H, W, C)`` uint8, ``shifts`` ``(B, 2)`` (x, y: output pixel ``p`` shows input pixel
    ``p + shift``, i.e. a crop at offset ``shift + pad`` of the padded image), ``angles`` ``(B,)`` →
    ``(B, H, W, C)`` uint8. With angle 0 the result is an exact integer shift.
    """
    _, height, width, _ = images.shape
    cos, sin = torch.cos(angles.float()), torch.sin(angles.float())
    # The rotation is in pixels; affine_grid works in [-1, 1] per axis, so non-square images rescale it.
    theta = torch.stack(
        [
            torch.stack([cos, -sin * height / width, 2 * shifts[:, 0].float() / width], dim=-1),
            torch.stack([sin * width / height, cos, 2 * shifts[:, 1].float() / height], dim=-1),
        ],
        dim=1,
    )  # (B, 2, 3)
    pixels = images.permute(0, 3, 1, 2).float()
    grid = F.affine_grid(theta, list(pixels.shape), align_corners=False)
    moved = F.grid_sample(pixels, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return moved.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def augment(batch: Batch, *, shift: int = PAD, max_rotation: float = MAX_ROTATION) -> Batch:
    """``batch`` with each distinct image randomly shifted (pad-and-crop) and rotated; other keys unchanged.

    ``image`` ``(B, H, W, 3)`` uint8 stays ``(B, H, W, 3)`` uint8. Without ``image_index`` every row is
    its own image.
    """
    images = batch["image"]
    keys = batch.get("image_index")
    if keys is None:
        keys = torch.arange(images.shape[0], device=images.device)
    shifts, angles = random_transforms(keys, shift=shift, max_rotation=max_rotation)
    return {**batch, "image": transform_images(images, shifts, angles)}
