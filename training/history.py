"""The epoch history of a training run (`RUN/history.jsonl`, one JSON line per epoch) and its
loss curves as a PNG. Written by `training.train` and `training.distill`; it needs only Pillow, so a
run under Keras's PyTorch or JAX backend, where TensorFlow is not installed, draws its curves too."""

import json

from PIL import Image, ImageDraw


def read_history(path):
    """The epoch lines of `history.jsonl`, the last one of each epoch (a resumed epoch repeats)."""
    if not path.is_file():
        return []
    by_epoch = {}
    for line in path.read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            by_epoch[entry["epoch"]] = entry
    return [by_epoch[epoch] for epoch in sorted(by_epoch)]


def scale(value, low, high, start, end):
    """Maps `value` from [low, high] to [start, end]; the middle when low == high."""
    return start + (end - start) * ((value - low) / (high - low) if high > low else 0.5)


def plot_history(history, path, marked_phase=None, width=640, panel_height=150, margin=40):
    """Draws one panel per metric of `history` (lines of `read_history`) with Pillow, an orange
    line where the phase `marked_phase` starts (if given); returns the path, or None with nothing
    to draw."""
    names = sorted({key for entry in history for key in entry} - {"epoch", "phase"})
    if not names:
        return None
    image = Image.new("RGB", (width, panel_height * len(names)), "white")
    draw = ImageDraw.Draw(image)
    first, last = history[0]["epoch"], history[-1]["epoch"]
    switch = next((entry["epoch"] for entry in history if entry["phase"] == marked_phase), None)
    for index, name in enumerate(names):
        points = [(entry["epoch"], entry[name]) for entry in history if name in entry]
        values = [value for _, value in points]
        low, high = min(values), max(values)
        left, top, right, bottom = margin, index * panel_height + 25, width - 10, (index + 1) * panel_height - 20
        draw.rectangle((left, top, right, bottom), outline="gray")
        summary = f"{name}: {values[0]:.4g} -> {values[-1]:.4g} (min {low:.4g}, max {high:.4g})"
        draw.text((left, top - 20), summary, fill="black")
        draw.text((left, bottom + 3), f"epoch {first}", fill="gray")
        draw.text((right - 60, bottom + 3), f"epoch {last}", fill="gray")
        if switch is not None and switch > first:
            x = scale(switch - 0.5, first, last, left, right)
            draw.line((x, top, x, bottom), fill="orange")
        xy = [(scale(epoch, first, last, left, right), scale(value, low, high, bottom, top)) for epoch, value in points]
        if len(xy) > 1:
            draw.line(xy, fill="steelblue", width=2)
        for x, y in xy:
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill="steelblue")
    image.save(path)
    return path
