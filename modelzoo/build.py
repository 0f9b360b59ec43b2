"""Building packages (`build`) and measuring their profile (`measure`, `profile_zoo`).

A package is written to `<output>/<id>/.partial-<version>/` and renamed to
`<output>/<id>/<version>/` only once every variant has passed its parity check, so a failed
build leaves no package behind; then the style's catalogue entry is replaced. The version is
derived from the build's inputs: a style whose package for that version is already complete
and intact is not rebuilt.

The profile (WASM, WebGL and ONNX figures) is slow to measure (WebGL in SwiftShader: many
minutes per network), so a build can leave it out (`BuildOptions(profile=False)`): the package
is complete and served, its manifest has no `profile` yet, and `profile_zoo` adds the figures
later, rewriting `manifest.json` and the catalogue entry (the package's other files never change).
"""

import datetime
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import metadata as package_metadata
from pathlib import Path

from modelzoo import convert, images, manifest, parity, profile, tiling, wechat
from modelzoo.constants import (
    CACHE_DIR,
    CATALOGUE_FILE,
    DEFAULT_ONNX_OPSET,
    DEFAULT_PROFILE_SIZES,
    DEFAULT_SHARD_BYTES,
    FORMAT_VERSION,
    MANIFEST_FILE,
    MOBILE_MAX_TEXTURE_SIZE,
    ONNX_FILE,
    ONNX_FORMAT,
    ONNX_RUNS,
    ONNX_VARIANT,
    PARITY_PHOTOS,
    PARITY_SIZE,
    PARITY_THRESHOLDS_DB,
    PARTIAL_PREFIX,
    PREVIEW_FILE,
    PREVIEW_LONG_SIDE,
    SAVEDMODEL_DIR,
    SAVEDMODEL_FORMAT,
    SAVEDMODEL_VARIANT,
    SERVING_VERSION,
    TFJS_FORMAT,
    TFJS_VARIANTS,
    TILES_VARIANT,
    WASM_RUNS,
    WEBGL_CONFIGS,
    WEBGL_MAX_TEXTURE_SIZES,
    WEBGL_TIMEOUT_S,
    chromium_path,
)
from modelzoo.verify import verify_package

TOOLS = ("tensorflow", "tensorflowjs", "tf2onnx", "onnx", "onnxruntime")


@dataclass(frozen=True)
class BuildOptions:
    """Everything a build can be told. Only `shard_bytes` and `onnx_opset` change the files (and so
    the version); the rest decides what is measured and checked."""

    shard_bytes: int = DEFAULT_SHARD_BYTES
    onnx_opset: int = DEFAULT_ONNX_OPSET
    profile_sizes: tuple = DEFAULT_PROFILE_SIZES
    webgl_sizes: tuple | None = None  # None: the profile sizes
    webgl_max_texture_sizes: tuple = WEBGL_MAX_TEXTURE_SIZES
    webgl_configs: tuple = WEBGL_CONFIGS
    webgl_timeout_s: int = WEBGL_TIMEOUT_S
    wasm_runs: int = WASM_RUNS
    onnx_runs: int = ONNX_RUNS
    parity_photos: int = PARITY_PHOTOS
    parity_size: int = PARITY_SIZE
    thresholds_db: dict = field(default_factory=lambda: dict(PARITY_THRESHOLDS_DB))
    photos_dir: Path | None = None
    chromium: Path | None = None
    force: bool = False
    profile: bool = True  # False: package without the profile (`profile_zoo` measures it later)


def tool_versions():
    versions = {}
    for name in TOOLS:
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            versions[name] = None
    versions["tfjs_runtime"] = tfjs_runtime_version()
    return versions


def tfjs_runtime_version():
    from modelzoo.constants import NODE_DIR

    path = NODE_DIR / "node_modules" / "@tensorflow" / "tfjs" / "package.json"
    return manifest.read_json(path)["version"] if path.is_file() else None


def build_settings(options):
    """The settings and converter versions that decide a package's files (part of its version)."""
    tools = tool_versions()
    return {
        "shard_bytes": int(options.shard_bytes),
        "onnx_opset": int(options.onnx_opset),
        "variants": sorted([*TFJS_VARIANTS, ONNX_VARIANT, wechat.VARIANT, SAVEDMODEL_VARIANT, TILES_VARIANT]),
        "tools": {name: tools[name] for name in ("tensorflow", "tensorflowjs", "tf2onnx", "onnx")},
    }


def _photos_dir(options):
    if options.photos_dir is not None:
        return Path(options.photos_dir)
    from training import settings

    return settings.photos_dir()


def _existing(package_dir):
    """The manifest of an intact package at `package_dir`, or None."""
    manifest_path = package_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        return None
    try:
        data = manifest.read_json(manifest_path)
    except ValueError:
        return None
    return data if not verify_package(package_dir, data) else None


def build(source, output_dir, options=None, log=print):
    """Packages `source` into `output_dir`; returns `(manifest, package_dir, built)`, `built` False
    when an intact package of the same version was already there. Raises `ParityError` when a
    variant falls below its threshold (nothing is written then)."""
    options = options or BuildOptions()
    output_dir = Path(output_dir)
    version = manifest.derive_version(source, build_settings(options))
    package_dir = output_dir / source.id / version
    existing = None if options.force else _existing(package_dir)
    if existing is not None:
        log(f"{source.id}: version {version} is up to date")
        manifest.update_catalogue(output_dir, manifest.catalogue_entry(output_dir, existing, package_dir))
        if options.profile and not profile.is_measured(existing):
            existing = _measure_in_place(output_dir, package_dir, existing, options, log)
        return existing, package_dir, False

    partial = output_dir / source.id / f"{PARTIAL_PREFIX}{version}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        with tempfile.TemporaryDirectory(prefix="modelzoo-") as work:
            data = _build_into(source, version, partial, Path(work), options, log)
        if options.profile:
            data = measure(data, partial, output_dir / CACHE_DIR, options, log)
        manifest.validate(data, "manifest")
        manifest.write_json(partial / MANIFEST_FILE, data)
        shutil.rmtree(package_dir, ignore_errors=True)
        partial.rename(package_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    manifest.update_catalogue(output_dir, manifest.catalogue_entry(output_dir, data, package_dir))
    log(f"{source.id}: wrote version {version} to {package_dir}")
    return data, package_dir, True


def _build_into(source, version, package_dir, work, options, log):
    """Converts `source` into `package_dir` and checks parity; returns its manifest (no profile)."""
    convention = source.input
    saved_model = convert.saved_model_of(source, work)
    input_name, output_name = convert.signature_names(saved_model, source.signature)

    log(f"{source.id}: reference outputs on {options.parity_photos} photos at {options.parity_size}")
    photos = images.sample_photo_paths(_photos_dir(options), options.parity_photos)
    inputs = [
        images.to_network(images.load_photo_array(p, options.parity_size, convention["size_multiple"]), convention)
        for p in photos
    ]
    references = parity.reference_outputs(saved_model, source.signature, inputs)
    images.write_jpeg(images.from_network(references[0], convention), package_dir / PREVIEW_FILE, PREVIEW_LONG_SIDE)

    variants = {}
    for name, (folder, quantization) in TFJS_VARIANTS.items():
        log(f"{source.id}: TF.js {name} graph model")
        model_json = convert.to_tfjs(
            saved_model, package_dir / folder, quantization, options.shard_bytes, source.signature
        )
        outputs = parity.tfjs_outputs(model_json, inputs, work / f"parity-{name}")
        figures = parity.check(name, parity.compare(outputs, references, convention), options.thresholds_db[name])
        log(f"{source.id}: {name} parity {figures['psnr_db']:.2f} dB")
        variants[name] = manifest.variant_entry(
            TFJS_FORMAT,
            (package_dir / folder).iterdir(),
            package_dir,
            model=model_json,
            quantization=name,
            shard_bytes=int(options.shard_bytes),
            parity=figures,
        )

    log(f"{source.id}: ONNX model (opset {options.onnx_opset})")
    onnx_path = convert.to_onnx(saved_model, package_dir / ONNX_FILE, options.onnx_opset, source.signature)
    figures = parity.compare(parity.onnx_outputs(onnx_path, inputs), references, convention)
    figures = parity.check(ONNX_VARIANT, figures, options.thresholds_db[ONNX_VARIANT])
    variants[ONNX_VARIANT] = manifest.variant_entry(
        ONNX_FORMAT,
        [onnx_path],
        package_dir,
        model=onnx_path,
        opset=int(options.onnx_opset),
        signature={"input": input_name, "output": output_name},
        parity=figures,
    )

    variants[wechat.VARIANT] = _wechat_variant(saved_model, source, package_dir, inputs, references, options)
    tiles = tiling.describe(source)
    if tiles and tiles["statistics"]:
        log(f"{source.id}: ONNX statistics and tile graphs ({TILES_VARIANT})")
        variants[TILES_VARIANT] = tiling.onnx_tiles_variant(
            source, work, package_dir, inputs, references, options.onnx_opset, options.thresholds_db[ONNX_VARIANT]
        )

    serving_root = package_dir / SAVEDMODEL_DIR / source.id
    servable = convert.to_serving(saved_model, serving_root)
    variants[SAVEDMODEL_VARIANT] = manifest.variant_entry(
        SAVEDMODEL_FORMAT,
        [p for p in servable.rglob("*") if p.is_file()],
        package_dir,
        model=servable,
        serving={
            "model_name": source.id,
            "base_path": serving_root.relative_to(package_dir).as_posix(),
            "version": SERVING_VERSION,
            "signature": source.signature,
            "input": input_name,
            "output": output_name,
        },
    )

    return {
        "format": FORMAT_VERSION,
        "id": source.id,
        "name": source.name,
        "version": version,
        "built_at": datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        "source": {"origin": source.origin, "content_sha256": source.content_sha256, "graph_key": source.graph_key},
        "input": convention,
        "preview": PREVIEW_FILE,
        "files": manifest.file_entries([package_dir / PREVIEW_FILE], package_dir),
        **_webgl_advice(None),
        "tools": tool_versions(),
        **({"tiling": tiles} if tiles else {}),
        "variants": variants,
    }


def _wechat_variant(saved_model, source, package_dir, inputs, references, options):
    """The NCHW ONNX model for wx.createInferenceSession, checked in fp32 and with fp16 storage."""
    convention = source.input
    path, input_name = wechat.export(saved_model, package_dir / wechat.FILE, options.onnx_opset, source.signature)
    figures = parity.compare(wechat.outputs(path, input_name, inputs), references, convention)
    figures = parity.check(wechat.VARIANT, figures, options.thresholds_db[wechat.VARIANT])
    fp16_figures = parity.compare(wechat.outputs(wechat.fp16_storage(path), input_name, inputs), references, convention)
    return manifest.variant_entry(
        ONNX_FORMAT,
        [path],
        package_dir,
        model=path,
        opset=int(options.onnx_opset),
        signature={"input": input_name, "output": wechat.OUTPUT_NAME},
        parity=figures,
        engine=wechat.engine_entry(path, input_name, fp16_figures, options.thresholds_db["float16"]),
    )


def _webgl_advice(webgl):
    """The manifest's `webgl_settings`, `webgl_settings_measured` and `recommended`, from the
    WebGL figures of the first TF.js variant (None: not measured)."""
    settings, webgl_max_sizes = profile.recommend(webgl)
    return {
        "webgl_settings": settings,
        "webgl_settings_measured": webgl is not None,
        "recommended": {
            "webgl_max_size": webgl_max_sizes.get(str(MOBILE_MAX_TEXTURE_SIZE)),
            "webgl_max_size_by_texture_limit": webgl_max_sizes,
        },
    }


def measure(data, package_dir, cache_dir, options, log=print):
    """A copy of the manifest `data` with the profile of the package in `package_dir`: WASM and
    WebGL figures of each TF.js variant, onnxruntime figures of the ONNX model (cached per network
    graph in `cache_dir`), and the WebGL advice drawn from them."""
    package_dir = Path(package_dir)
    graph = data["source"].get("graph_key") or data["source"]["content_sha256"]  # older manifests
    sizes = [int(s) for s in options.profile_sizes]
    tools = tool_versions()
    variants = dict(data["variants"])
    for name in TFJS_VARIANTS:
        model_json = package_dir / variants[name]["model"]
        figures = _tfjs_profile(model_json, name, data["id"], graph, sizes, tools, cache_dir, options, log)
        variants[name] = {**variants[name], "profile": figures}
    onnx_path = package_dir / variants[ONNX_VARIANT]["model"]
    server = profile.cached(
        cache_dir,
        "onnx",
        {"graph": graph, "sizes": sizes, "runs": options.onnx_runs, "onnxruntime": tools["onnxruntime"]},
        _announced(
            log,
            f"{data['id']}: onnxruntime at {_sizes_text(sizes)}",
            lambda: profile.onnx_server(onnx_path, sizes, options.onnx_runs),
        ),
    )
    variants[ONNX_VARIANT] = {**variants[ONNX_VARIANT], "profile": {"server": server}}
    if wechat.VARIANT in variants:  # the same graph in NCHW: the server figures stand for it
        variants[wechat.VARIANT] = {**variants[wechat.VARIANT], "profile": {"server": server}}
    first_tfjs = variants[next(iter(TFJS_VARIANTS))]["profile"]
    measured_with = {name: tools[name] for name in ("onnxruntime", "tfjs_runtime")}
    return {
        **data,
        **_webgl_advice(first_tfjs["webgl"]),
        "tools": {**data["tools"], **measured_with},
        "variants": variants,
    }


def _measure_in_place(output_dir, package_dir, data, options, log):
    """Measures a package already in place and rewrites its manifest and, while that version is
    still the catalogue's, its catalogue entry (the manifest's sha256 changed)."""
    output_dir, package_dir = Path(output_dir), Path(package_dir)
    data = manifest.validate(measure(data, package_dir, output_dir / CACHE_DIR, options, log), "manifest")
    manifest.write_json(package_dir / MANIFEST_FILE, data)
    current = {s["id"]: s["version"] for s in manifest.read_catalogue(output_dir)["styles"]}
    if current.get(data["id"]) == data["version"]:
        manifest.update_catalogue(output_dir, manifest.catalogue_entry(output_dir, data, package_dir))
    log(f"{data['id']}: profile written to {package_dir / MANIFEST_FILE}")
    return data


def profile_zoo(output_dir, options=None, styles=None, log=print):
    """Measures the profile of each style of the catalogue (or of `styles`) whose current package
    has none yet (each one with `options.force`). Returns the ids measured."""
    options = options or BuildOptions()
    output_dir = Path(output_dir)
    catalogue = manifest.read_catalogue(output_dir)
    unknown = set(styles or ()) - {s["id"] for s in catalogue["styles"]}
    if unknown:
        raise ValueError(f"not in {output_dir / CATALOGUE_FILE}: {', '.join(sorted(unknown))}")
    entries = [s for s in catalogue["styles"] if styles is None or s["id"] in styles]
    measured = []
    for k, entry in enumerate(entries, 1):
        step_log = _prefixed(log, f"[{k}/{len(entries)}]")
        manifest_path = output_dir / entry["manifest"]
        data = manifest.read_json(manifest_path)
        if profile.is_measured(data) and not options.force:
            step_log(f"{entry['id']}: already measured")
            continue
        _measure_in_place(output_dir, manifest_path.parent, data, options, step_log)
        measured.append(entry["id"])
    return measured


def _prefixed(log, prefix):
    return lambda line: log(f"{prefix} {line}")


def _announced(log, line, compute):
    """`compute`, saying `line` first: what is being measured (nothing is said when cached)."""

    def run():
        log(line)
        return compute()

    return run


def _sizes_text(sizes):
    return ", ".join(f"{s}²" for s in sizes) or "no sizes"


def _tfjs_profile(model_json, variant, style_id, graph, sizes, tools, cache_dir, options, log):
    """The WASM and WebGL figures of a TF.js variant (cached per network graph)."""
    key = {"graph": graph, "sizes": sizes, "tfjs": tools["tfjs_runtime"]}
    wasm = profile.cached(
        cache_dir,
        "wasm",
        {**key, "runs": options.wasm_runs},
        _announced(
            log,
            f"{style_id}: WASM in Node at {_sizes_text(sizes)}",
            lambda: {"measured_with": variant, "results": profile.wasm(model_json, sizes, options.wasm_runs)},
        ),
    )
    chromium = Path(options.chromium) if options.chromium is not None else chromium_path()
    webgl = {"missing": profile.chromium_missing(chromium), "results": [], "renderer": None}
    webgl_sizes = sizes if options.webgl_sizes is None else [int(s) for s in options.webgl_sizes]
    # One cached measurement per (limit, size, setting): an interrupted build keeps what it measured.
    pages = [
        (limit, size, config)
        for limit in options.webgl_max_texture_sizes
        for size in webgl_sizes
        for config in options.webgl_configs
    ]
    for page, (limit, size, config) in enumerate(pages, 1):
        if webgl["missing"]:
            break
        measured = profile.cached(
            cache_dir,
            "webgl",
            {**key, "sizes": [size], "config": list(config), "max_texture": int(limit)},
            _announced(
                log,
                f"{style_id}: WebGL in Chromium, page {page}/{len(pages)}: {size}², texture limit {limit}, "
                f"im2col {'on' if config[0] else 'off'}, delete threshold {config[1]} (minutes in SwiftShader)",
                lambda size=size, config=config, limit=limit: {
                    "measured_with": variant,
                    **profile.webgl(model_json, [size], [config], chromium, options.webgl_timeout_s, limit),
                },
            ),
        )
        webgl["missing"] = measured.get("missing")
        webgl["results"] += measured.get("results", [])
        webgl["renderer"] = measured.get("renderer") or webgl["renderer"]
    return {
        "measured_with": wasm["measured_with"],
        "wasm": wasm["results"],
        "webgl": None if webgl["missing"] else webgl["results"],
        "webgl_missing": webgl["missing"],
        "webgl_renderer": webgl["renderer"],
    }
