"""Picture quality against a reference: PSNR and SSIM of 8-bit RGB images.

SSIM is the index of Wang et al. (2004) with its usual settings (11x11 Gaussian window of sigma
1.5, K1 = 0.01, K2 = 0.03, peak 255), computed per channel and averaged, as scikit-image's
`structural_similarity(..., gaussian_weights=True, channel_axis=-1)` does.
"""

import math

import cv2
import numpy as np

MAX_PSNR_DB = 100.0  # reported for identical pictures
PEAK = 255.0
SSIM_WINDOW = 11  # the Gaussian window's side, in pixels
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03
SSIM_C1 = (SSIM_K1 * PEAK) ** 2
SSIM_C2 = (SSIM_K2 * PEAK) ** 2
SSIM_COVARIANCE_CORRECTION = SSIM_WINDOW**2 / (SSIM_WINDOW**2 - 1)  # sample covariances, as scikit-image


def _check_pair(picture, reference):
    picture, reference = np.asarray(picture), np.asarray(reference)
    if picture.shape != reference.shape or picture.ndim != 3:
        raise ValueError(f"pictures must be (H, W, C) of one shape, got {picture.shape} and {reference.shape}")
    return picture.astype(np.float64), reference.astype(np.float64)


def psnr(picture, reference):
    """PSNR in dB of an 8-bit picture against an 8-bit reference of the same shape."""
    picture, reference = _check_pair(picture, reference)
    mse = float(np.mean((picture - reference) ** 2))
    return MAX_PSNR_DB if mse == 0 else min(MAX_PSNR_DB, 10 * math.log10(PEAK**2 / mse))


def ssim(picture, reference):
    """Mean SSIM of an 8-bit picture against an 8-bit reference (1.0 for identical pictures)."""
    picture, reference = _check_pair(picture, reference)
    window = ssim_window()

    def blur(image):
        return cv2.sepFilter2D(image, -1, window, window, borderType=cv2.BORDER_REFLECT)

    values = []
    for channel in range(picture.shape[2]):
        x, y = picture[..., channel], reference[..., channel]
        index = ssim_index(blur(x), blur(y), blur(x * x), blur(y * y), blur(x * y), PEAK)
        edge = SSIM_WINDOW // 2  # the border, where the window is padded, is not counted
        inside = index[edge:-edge, edge:-edge] if min(x.shape) >= SSIM_WINDOW else index
        values.append(float(inside.mean()))
    return float(np.mean(values))


def ssim_index(mu_x, mu_y, mean_xx, mean_yy, mean_xy, value_range):
    """SSIM's index at each position, from the local (window-weighted) means of x, y, x², y² and
    xy, for values from 0 to `value_range`. Arithmetic only, so it serves NumPy arrays and Keras
    tensors alike (`training.distill.structural_similarity`)."""
    c1, c2 = (SSIM_K1 * value_range) ** 2, (SSIM_K2 * value_range) ** 2
    var_x = (mean_xx - mu_x**2) * SSIM_COVARIANCE_CORRECTION
    var_y = (mean_yy - mu_y**2) * SSIM_COVARIANCE_CORRECTION
    cov = (mean_xy - mu_x * mu_y) * SSIM_COVARIANCE_CORRECTION
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))


def ssim_window():
    """The normalized 1-D Gaussian of SSIM's window (its 2-D window is the outer product)."""
    offsets = np.arange(SSIM_WINDOW) - SSIM_WINDOW // 2
    weights = np.exp(-(offsets**2) / (2 * SSIM_SIGMA**2))
    return weights / weights.sum()


def shift_agreement(stylize, photo, shift):
    """`(psnr, ssim)` of `stylize`'s picture of `photo` against its picture of `photo` without the
    first `shift` rows and columns, on the pixels both show: how much a generator's picture
    follows the pixel grid rather than the scene (identical pictures for a generator that does not)."""
    photo = np.asarray(photo)
    if not 1 <= shift < min(photo.shape[:2]):
        raise ValueError(f"shift must be between 1 and the photo's short side, got {shift}")
    whole = np.asarray(stylize(photo))[shift:, shift:]
    moved = np.asarray(stylize(np.ascontiguousarray(photo[shift:, shift:])))
    return psnr(moved, whole), ssim(moved, whole)


def colour_transform(picture, reference):
    """The affine colour transform (a (4, 3) matrix: 3x3 and an offset row) that brings `picture`
    closest to `reference` by least squares over all their pixels."""
    picture, reference = _check_pair(picture, reference)
    transform, *_ = np.linalg.lstsq(_with_ones(picture), reference.reshape(-1, reference.shape[-1]), rcond=None)
    return transform


def apply_colour_transform(picture, transform):
    """`picture` (uint8) through a `colour_transform`, as uint8."""
    picture = np.asarray(picture)
    return np.clip(np.rint(_with_ones(picture) @ transform), 0, 255).astype(np.uint8).reshape(picture.shape)


def colour_fit(picture, reference):
    """`picture` after the one affine colour transform that brings it closest to `reference`: what
    a picture would score if only its palette as a whole changed."""
    return apply_colour_transform(picture, colour_transform(picture, reference))


def _with_ones(picture):
    pixels = np.asarray(picture, dtype=np.float64).reshape(-1, picture.shape[-1])
    return np.concatenate([pixels, np.ones((len(pixels), 1))], axis=1)
