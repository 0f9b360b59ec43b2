"""Stylize latency, peak memory and achieved GFLOP/s of the published CartoonGAN generator on the CPU.

    .venv/bin/python bench/bench_stylize.py [--style hayao] [--sizes 256 512 1024] [--runs 5]
        [--model PATH.keras] [--variants compiled,call,predict,function,xla]
        [--onednn on|off] [--intra N] [--inter N]

For each size the variants are warmed up (the first call, which traces and compiles, is reported
as `first`), then timed `--runs` times round-robin, so that load from other processes on a shared
machine spreads over all variants alike; `median` and `min` are over those runs. `cpu s` is the
median CPU time of this process per call (all threads): unlike wall time it hardly grows when other
processes compete for the cores, so it compares implementations on a busy machine. `peak RSS` is the
largest resident size of this process sampled during that size's calls (memory is rarely given back
to the system, so with several variants it is their common peak: compare variants' memory by
running one at a time; sizes are run smallest first). `GFLOP/s` is
`training.inference.generator_flops` over the median time, and `% roof` compares it with a float32
matrix multiply timed on the same machine. Variants:

    compiled  training.inference.compile_generator(model), what `stylize` uses
    call      model(x) in eager mode
    predict   model.predict(x)
    function  tf.function(model), jit_compile=False (TensorFlow graph, oneDNN rewrites)
    xla       tf.function(model), jit_compile=True (XLA, compiled per input shape)

oneDNN and the thread pools are process-wide: compare them by running the script once per setting.
"""

import argparse
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

VARIANTS = ("compiled", "call", "predict", "function", "xla")


class PeakRSS:
    """Samples this process's resident set size every few milliseconds in a background thread."""

    def __init__(self, interval_s=0.005):
        import psutil

        self.process = psutil.Process()
        self.interval_s = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval_s)

    def reset(self):
        self.peak = self.process.memory_info().rss

    def __enter__(self):
        self.reset()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def matmul_roof(n=2048, runs=10):
    """GFLOP/s of a float32 n x n matrix multiply in TensorFlow, the best of `runs`: the machine's roof.

    The best rather than the median, because other processes on the machine only ever slow it down.
    """
    import tensorflow as tf

    a = tf.random.uniform((n, n), dtype=tf.float32)
    b = tf.random.uniform((n, n), dtype=tf.float32)
    tf.linalg.matmul(a, b).numpy()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        times.append(time.perf_counter() - start)
    return 2 * n**3 / min(times) / 1e9


def make_variant(name, model):
    import tensorflow as tf

    from training.inference import compile_generator

    if name == "compiled":
        return compile_generator(model)
    if name == "call":
        return lambda x: model(x, training=False).numpy()
    if name == "predict":
        return lambda x: model.predict(x, verbose=0)
    if name in ("function", "xla"):
        graph = tf.function(lambda x: model(x, training=False), jit_compile=name == "xla", reduce_retracing=True)
        return lambda x: graph(x).numpy()
    raise ValueError(f"unknown variant {name!r}; variants: {', '.join(VARIANTS)}")


def measure(generators, x, runs):
    """`{name: (first call s, [wall s per run], [CPU s per run])}`, the runs taken round-robin."""
    first, times, cpu_times = {}, {name: [] for name in generators}, {name: [] for name in generators}
    for name, generate in generators.items():
        start = time.perf_counter()
        generate(x)
        first[name] = time.perf_counter() - start
    for _ in range(runs):
        for name, generate in generators.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            generate(x)
            times[name].append(time.perf_counter() - start)
            cpu_times[name].append(time.process_time() - start_cpu)
    return {name: (first[name], times[name], cpu_times[name]) for name in generators}


def load_model(args):
    if args.model:
        from training.saving import load_generator

        return load_generator(args.model)[0]
    from training.pretrained import import_published

    return import_published(args.style)[0]


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="hayao", help="published style to import when no --model is given")
    parser.add_argument("--model", help="a .keras generator saved by `training` (default: import --style)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024], help="square image sizes")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per size and variant (after a warm-up)")
    parser.add_argument("--variants", default="compiled", help=f"comma-separated, from: {', '.join(VARIANTS)}")
    parser.add_argument("--onednn", choices=["on", "off"], help="set TF_ENABLE_ONEDNN_OPTS (default: as set)")
    parser.add_argument("--intra", type=int, default=0, help="intra-op threads (0: TensorFlow's default)")
    parser.add_argument("--inter", type=int, default=0, help="inter-op threads (0: TensorFlow's default)")
    args = parser.parse_args(argv)
    args.variants = [name.strip() for name in args.variants.split(",") if name.strip()]
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    if args.runs < 1 or min(args.sizes) < 5:
        parser.error("--runs must be at least 1 and --sizes at least 5")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.onednn:
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1" if args.onednn == "on" else "0"
    import numpy as np
    import tensorflow as tf

    from training.inference import generator_flops

    tf.config.threading.set_intra_op_parallelism_threads(args.intra)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter)

    roof = matmul_roof()
    print(
        f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
        f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', '(default: on)')}, "
        f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}, intra={args.intra or 'default'}, "
        f"inter={args.inter or 'default'}"
    )
    print(f"matmul roof: {roof:.1f} GFLOP/s (float32 2048x2048 tf.linalg.matmul, best of 10)")

    model = load_model(args)
    generators = {name: make_variant(name, model) for name in args.variants}
    print(
        f"{'size':>6} {'variant':>9} {'GFLOP':>8} {'first s':>8} {'median s':>9} {'min s':>7} {'cpu s':>6} "
        f"{'GFLOP/s':>8} {'% roof':>7} {'peak RSS MiB':>13}"
    )
    rng = np.random.default_rng(0)
    with PeakRSS() as rss:
        for size in args.sizes:
            x = rng.uniform(-1, 1, (1, size, size, 3)).astype(np.float32)
            rss.reset()
            results = measure(generators, x, args.runs)
            gflop = generator_flops(size, size) / 1e9
            for name, (first, times, cpu_times) in results.items():
                median = statistics.median(times)
                print(
                    f"{size:>6} {name:>9} {gflop:>8.1f} {first:>8.2f} {median:>9.3f} {min(times):>7.3f} "
                    f"{statistics.median(cpu_times):>6.2f} {gflop / median:>8.1f} {100 * gflop / median / roof:>6.0f}% "
                    f"{rss.peak / 2**20:>13.0f}",
                    flush=True,
                )
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"process peak RSS (getrusage): {peak_kib / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
