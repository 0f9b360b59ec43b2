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

A package holds the style's generator (the teacher) and, when the build is given one, its student
(`training/students/<style>.keras`): the student's phone variants (`student_float16`,
`student_uint8`, `student_onnx`, `student_wechat`, files in `student/`) are built and checked like
the teacher's, each variant records its `network`, and the manifest's `student` object holds the
student's own input convention, tiling and WebGL advice. Each variant is built by its own function
(`_tfjs_variant`, `_onnx_variant`, ...) over one shared step, `_checked_variant`: convert, run in
the variant's own runtime, then `parity.checked_entry` (compare with the source model, check the
threshold, record), which `tiling.onnx_tiles_variant` ends with too.
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
    CONTEXT_INPUT,
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
    STUDENT,
    STUDENT_DIR,
    STUDENT_PREFIX,
    TEACHER,
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


def build_settings(options, tools):
    """The settings and converter versions that decide a package's files (part of its version)."""
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


def build(source, output_dir, options=None, log=print, student=None):
    """Packages `source`, and beside it its `student` (a source of the same style, or None), into
    `output_dir`; returns `(manifest, package_dir, built)`, `built` False when an intact package of
    the same version was already there. Raises `ParityError` when a variant falls below its
    threshold (nothing is written then)."""
    options = options or BuildOptions()
    if student is not None and student.id != source.id:
        raise ValueError(f"the student of {source.id!r} is a student of {student.id!r}")
    output_dir = Path(output_dir)
    tools = tool_versions()
    version = manifest.derive_version(source, build_settings(options, tools), student)
    package_dir = output_dir / source.id / version
    existing = None if options.force else _existing(package_dir)
    if existing is not None:
        log(f"{source.id}: version {version} is up to date")
        manifest.update_catalogue(output_dir, manifest.catalogue_entry(output_dir, existing, package_dir))
        if options.profile and not profile.is_measured(existing):
            existing = _measure_in_place(output_dir, package_dir, existing, options, log, tools)
        return existing, package_dir, False

    partial = output_dir / source.id / f"{PARTIAL_PREFIX}{version}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        with tempfile.TemporaryDirectory(prefix="modelzoo-") as work:
            context = _Context(partial, Path(work), options, log)
            data = _build_into(context, source, student, version, tools)
        if options.profile:
            data = measure(data, partial, output_dir / CACHE_DIR, options, log, tools)
        manifest.validate(data, "manifest")
        manifest.write_json(partial / MANIFEST_FILE, data)
        shutil.rmtree(package_dir, ignore_errors=True)
        partial.rename(package_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    manifest.update_catalogue(output_dir, manifest.catalogue_entry(output_dir, data, package_dir))
    log(f"{source.id}: wrote version {version} to {package_dir}")
    return data, package_dir, True


@dataclass(frozen=True)
class _Context:
    """What every step of one build shares: the package folder being written, a scratch folder,
    the options and the log."""

    package_dir: Path
    work: Path
    options: BuildOptions
    log: object


@dataclass(frozen=True)
class _Network:
    """One network of a package (the style's generator, or its student) ready to convert: its
    SavedModel, the parity feeds (`{input name: array}`, the picture and, for a network that sees
    its whole picture, its context) and its float32 reference outputs, the folder its files go to
    and the prefix of its variant names."""

    role: str  # TEACHER or STUDENT
    source: object
    saved_model: Path
    input_names: tuple  # the picture's first
    output_name: str
    feeds: list
    references: list
    folder: Path
    prefix: str


def _network(context, role, source, folder, prefix):
    options = context.options
    saved_model = convert.saved_model_of(source, context.work / role)
    input_names, output_name = convert.signature_names(saved_model, source.signature)
    if (CONTEXT_INPUT in input_names) != ("context" in source.input):
        raise ValueError(
            f"{source.id}: the {role}'s SavedModel takes {list(input_names)} but its input convention says"
            f" {'a' if 'context' in source.input else 'no'} context (package a context network from its .keras file)"
        )
    context.log(f"{source.id}: {role} reference outputs on {options.parity_photos} photos at {options.parity_size}")
    photos = images.sample_photo_paths(_photos_dir(options), options.parity_photos)
    pictures = [images.load_photo_array(p, options.parity_size, source.input["size_multiple"]) for p in photos]
    feeds = [{input_names[0]: images.to_network(rgb, source.input)} for rgb in pictures]
    if CONTEXT_INPUT in input_names:
        for feed, rgb in zip(feeds, pictures, strict=True):
            feed[CONTEXT_INPUT] = images.context_to_network(rgb, source.input)
    references = parity.reference_outputs(saved_model, source.signature, feeds)
    folder.mkdir(parents=True, exist_ok=True)
    return _Network(role, source, saved_model, input_names, output_name, feeds, references, folder, prefix)


def _build_into(context, source, student, version, tools):
    """Converts `source` (and `student`) into the package folder, checking each variant's parity;
    returns the manifest (no profile)."""
    package_dir = context.package_dir
    teacher = _network(context, TEACHER, source, package_dir, "")
    convention = source.input
    images.write_jpeg(
        images.from_network(teacher.references[0], convention), package_dir / PREVIEW_FILE, PREVIEW_LONG_SIDE
    )
    variants = _phone_variants(context, teacher)
    tiles = tiling.describe(source)
    if tiles and tiles["statistics"]:
        variants[TILES_VARIANT] = _tiles_variant(context, teacher)
    variants[SAVEDMODEL_VARIANT] = _savedmodel_variant(context, teacher)
    data = {
        "format": FORMAT_VERSION,
        "id": source.id,
        "name": source.name,
        "version": version,
        "built_at": datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        "source": _source_entry(source),
        "input": convention,
        "preview": PREVIEW_FILE,
        "files": manifest.file_entries([package_dir / PREVIEW_FILE], package_dir),
        **_webgl_advice(None),
        "tools": tools,
        **({"tiling": tiles} if tiles else {}),
    }
    if student is not None:
        network = _network(context, STUDENT, student, package_dir / STUDENT_DIR, STUDENT_PREFIX)
        variants.update(_phone_variants(context, network))
        student_tiles = tiling.describe(student)
        data[STUDENT] = {
            "source": _source_entry(student),
            "input": student.input,
            **({"tiling": student_tiles} if student_tiles else {}),
            **_webgl_advice(None),
        }
    return {**data, "variants": variants}


def _source_entry(source):
    return {"origin": source.origin, "content_sha256": source.content_sha256, "graph_key": source.graph_key}


def _phone_variants(context, network):
    """The variants a phone downloads, named with the network's prefix: TF.js float16 and uint8,
    ONNX, and the NCHW ONNX model of WeChat's engine."""
    variants = {network.prefix + name: _tfjs_variant(context, network, name) for name in TFJS_VARIANTS}
    variants[network.prefix + ONNX_VARIANT] = _onnx_variant(context, network)
    variants[network.prefix + wechat.VARIANT] = _wechat_variant(context, network)
    return variants


def _checked_variant(context, network, variant, convert_files, outputs_of, fmt, details=None):
    """The step every checked variant shares: `convert_files()` writes the variant's files and
    returns `(model path, file paths)`; `outputs_of(model path)` runs it in its own runtime on the
    parity inputs; `parity.checked_entry` compares the outputs with the network's reference
    outputs, checks the variant's threshold (`ParityError` below it) and records the manifest
    entry, with the network and `details(model path)` (a dict)."""
    name = network.prefix + variant
    context.log(f"{network.source.id}: {name} ({fmt})")
    model, files = convert_files()
    entry = parity.checked_entry(
        name,
        outputs_of(model),
        network.references,
        network.source.input,
        context.options.thresholds_db[variant],
        fmt,
        files,
        context.package_dir,
        model,
        network=network.role,
        **(details(model) if details else {}),
    )
    context.log(f"{network.source.id}: {name} parity {entry['parity']['psnr_db']:.2f} dB")
    return entry


def _tfjs_variant(context, network, quantization):
    """A TF.js graph model with weights quantized to `quantization` (a key of `TFJS_VARIANTS`)."""
    folder_name, dtype_map = TFJS_VARIANTS[quantization]
    folder = network.folder / folder_name
    shard_bytes = int(context.options.shard_bytes)

    def convert_files():
        model_json = convert.to_tfjs(network.saved_model, folder, dtype_map, shard_bytes, network.source.signature)
        return model_json, list(folder.iterdir())

    scratch = context.work / f"parity-{network.prefix}{quantization}"
    return _checked_variant(
        context,
        network,
        quantization,
        convert_files,
        lambda model_json: parity.tfjs_outputs(model_json, network.feeds, scratch),
        TFJS_FORMAT,
        lambda _: {"quantization": quantization, "shard_bytes": shard_bytes},
    )


def _onnx_variant(context, network):
    """The float32 ONNX model (NHWC), for onnxruntime on the server and phones."""
    opset = int(context.options.onnx_opset)

    def convert_files():
        path = convert.to_onnx(network.saved_model, network.folder / ONNX_FILE, opset, network.source.signature)
        return path, [path]

    return _checked_variant(
        context,
        network,
        ONNX_VARIANT,
        convert_files,
        lambda path: parity.onnx_outputs(path, network.feeds),
        ONNX_FORMAT,
        lambda _: {"opset": opset, "signature": _signature(network, network.output_name)},
    )


def _wechat_variant(context, network):
    """The NCHW ONNX model for wx.createInferenceSession, checked in fp32 and with fp16 storage."""
    options = context.options
    opset = int(options.onnx_opset)

    def convert_files():
        path = wechat.export(network.saved_model, network.folder / wechat.FILE, opset, network.source.signature)
        return path, [path]

    def details(path):
        fp16 = wechat.outputs(wechat.fp16_storage(path), network.feeds)
        fp16_figures = parity.compare(fp16, network.references, network.source.input)
        return {
            "opset": opset,
            "signature": _signature(network, wechat.OUTPUT_NAME),
            "engine": wechat.engine_entry(path, _inputs(network), fp16_figures, options.thresholds_db["float16"]),
        }

    return _checked_variant(
        context,
        network,
        wechat.VARIANT,
        convert_files,
        lambda path: wechat.outputs(path, network.feeds),
        ONNX_FORMAT,
        details,
    )


def _tiles_variant(context, network):
    """The statistics and tile ONNX graphs of a generator with instance normalization (server)."""
    context.log(f"{network.source.id}: ONNX statistics and tile graphs ({TILES_VARIANT})")
    options = context.options
    entry = tiling.onnx_tiles_variant(
        network.source,
        context.work,
        context.package_dir,
        [feed[network.input_names[0]] for feed in network.feeds],
        network.references,
        options.onnx_opset,
        options.thresholds_db[ONNX_VARIANT],
    )
    return {**entry, "network": network.role}


def _savedmodel_variant(context, network):
    """The float32 SavedModel in TF Serving's layout (server; the export itself, so not checked)."""
    source, package_dir = network.source, context.package_dir
    serving_root = package_dir / SAVEDMODEL_DIR / source.id
    servable = convert.to_serving(network.saved_model, serving_root)
    return manifest.variant_entry(
        SAVEDMODEL_FORMAT,
        [p for p in servable.rglob("*") if p.is_file()],
        package_dir,
        model=servable,
        network=network.role,
        serving={
            "model_name": source.id,
            "base_path": serving_root.relative_to(package_dir).as_posix(),
            "version": SERVING_VERSION,
            "signature": source.signature,
            **_signature(network, network.output_name),
        },
    )


def _inputs(network):
    """How a manifest names a network's inputs: `input` (the picture) and `context` when the
    network has one."""
    return dict(zip(("input", "context"), network.input_names))


def _signature(network, output_name):
    """A variant's `signature`: its inputs (`_inputs`) and its output."""
    return {**_inputs(network), "output": output_name}


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


def networks(data):
    """`(role, variant name prefix, facts)` of each network of a manifest: the style's generator
    (whose facts are the manifest itself) and its student when the package has one."""
    yield TEACHER, "", data
    if STUDENT in data:
        yield STUDENT, STUDENT_PREFIX, data[STUDENT]


def measure(data, package_dir, cache_dir, options, log=print, tools=None):
    """A copy of the manifest `data` with the profile of the package in `package_dir`: for each
    network, WASM and WebGL figures of each TF.js variant, onnxruntime figures of the ONNX model
    (cached per network graph in `cache_dir`), and the WebGL advice drawn from them."""
    package_dir = Path(package_dir)
    sizes = [int(s) for s in options.profile_sizes]
    tools = tools or tool_versions()
    variants = dict(data["variants"])
    measured = dict(data)
    for role, prefix, facts in networks(data):
        label = data["id"] if role == TEACHER else f"{data['id']} {role}"
        graph = facts["source"].get("graph_key") or facts["source"]["content_sha256"]  # older manifests
        for name in TFJS_VARIANTS:
            name = prefix + name
            model_json = package_dir / variants[name]["model"]
            figures = _tfjs_profile(model_json, name, label, graph, sizes, tools, cache_dir, options, log)
            variants[name] = {**variants[name], "profile": figures}
        onnx_path = package_dir / variants[prefix + ONNX_VARIANT]["model"]
        server = profile.cached(
            cache_dir,
            "onnx",
            {"graph": graph, "sizes": sizes, "runs": options.onnx_runs, "onnxruntime": tools["onnxruntime"]},
            _announced(
                log,
                f"{label}: onnxruntime at {_sizes_text(sizes)}",
                lambda onnx_path=onnx_path: profile.onnx_server(onnx_path, sizes, options.onnx_runs),
            ),
        )
        variants[prefix + ONNX_VARIANT] = {**variants[prefix + ONNX_VARIANT], "profile": {"server": server}}
        if prefix + wechat.VARIANT in variants:  # the same graph in NCHW: the server figures stand for it
            variants[prefix + wechat.VARIANT] = {**variants[prefix + wechat.VARIANT], "profile": {"server": server}}
        advice = _webgl_advice(variants[prefix + next(iter(TFJS_VARIANTS))]["profile"]["webgl"])
        if role == TEACHER:
            measured.update(advice)
        else:
            measured[role] = {**facts, **advice}
    measured_with = {name: tools[name] for name in ("onnxruntime", "tfjs_runtime")}
    return {**measured, "tools": {**data["tools"], **measured_with}, "variants": variants}


def _measure_in_place(output_dir, package_dir, data, options, log, tools=None):
    """Measures a package already in place and rewrites its manifest and, while that version is
    still the catalogue's, its catalogue entry (the manifest's sha256 changed)."""
    output_dir, package_dir = Path(output_dir), Path(package_dir)
    data = manifest.validate(measure(data, package_dir, output_dir / CACHE_DIR, options, log, tools), "manifest")
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
    tools = tool_versions()
    measured = []
    for k, entry in enumerate(entries, 1):
        step_log = _prefixed(log, f"[{k}/{len(entries)}]")
        manifest_path = output_dir / entry["manifest"]
        data = manifest.read_json(manifest_path)
        if profile.is_measured(data) and not options.force:
            step_log(f"{entry['id']}: already measured")
            continue
        _measure_in_place(output_dir, manifest_path.parent, data, options, step_log, tools)
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
