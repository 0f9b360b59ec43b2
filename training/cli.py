"""`python -m training <command>`: the command line of the training package.

Each command lives in the module that does the work, as two functions: `add_arguments(parser)`
and `run(args)`, which returns the exit status. Modules are imported only when their command
runs, so `--help` is quick and TensorFlow loads only when needed.
"""

import argparse
import importlib
import os
import signal
import sys
from pathlib import Path

# TensorFlow's C++ start-up chatter (CUDA plugins on a machine without a GPU) is not for users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

COMMANDS = {
    "import-pretrained": ("training.pretrained", "import a published style into a Keras generator"),
    "fetch-pretrained": ("training.fetch", "download a published style's weights, verifying checksums"),
    "stylize": ("training.stylize", "stylize a photo or a folder of photos into PNGs"),
    "prepare": ("training.edges", "write edge-smoothed copies of a folder of cartoon frames"),
    "train": ("training.train", "train a new style (initialization, then adversarial phase)"),
    "distill": ("training.distill", "distil small phone-class students from published styles"),
    "crop-photos": ("training.crops", "write random crops of the training photos, more pictures to distil from"),
    "evaluate": ("training.evaluate", "compare a generator with a reference generator (PSNR, SSIM, latency)"),
    "demo": ("training.demo", "import the published styles and stylize sample photos"),
}


def build_parser(argv):
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, help_text) in COMMANDS.items():
        subparsers.add_parser(name, help=help_text, description=help_text)
    # Only the chosen command's module is imported to define its arguments.
    chosen = next((arg for arg in argv if arg in COMMANDS), None)
    if chosen:
        importlib.import_module(COMMANDS[chosen][0]).add_arguments(subparsers.choices[chosen])
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser(argv).parse_args(argv)  # imports the command's module
    except KeyboardInterrupt:
        print("\nstopped by Ctrl-C", file=sys.stderr)
        return 128 + signal.SIGINT
    try:
        return importlib.import_module(COMMANDS[args.command][0]).run(args) or 0
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nstopped by Ctrl-C{resume_hint(args)}", file=sys.stderr)
        return 128 + signal.SIGINT


def resume_hint(args):
    """For a run of `distill` or `train` that has begun (its folder holds config.json)."""
    folder = getattr(args, "run_dir", None) or getattr(args, "output", None)  # train's --output is run_dir
    started = "resume" in args and folder is not None and (Path(folder) / "config.json").is_file()
    return "; --resume continues the run from its last checkpoint" if started else ""
