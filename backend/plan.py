"""Where to stylize a photo: on the phone (which variant, what size) or on the server.

The decision uses the device facts the mini-program can read and the WebGL figures measured for
each variant when the model zoo was built (`profile.webgl` of the manifest: texture bytes and the
largest texture at each size). A variant without `profile` (packaged but not measured yet: `make run`
measures after it starts serving) is never planned for a phone. The operator tunes the decision
with the PLAN_POLICY setting (JSON), whose keys override `DEFAULT_POLICY`.

A style packaged with its student (docs/modelzoo-format.md, "Teacher and student") sends phones
the student: its variants (`student_uint8`, ...) with the student's own WebGL figures and advice,
in tiles of the largest measured size that fits, up to `device_tiled_long_side`. The server
decides where and at what size; the answer carries everything the client needs to follow it
(variant, network, engine, long side, tile and overlap, WebGL settings, the variant's manifest URL),
and the client falls back to the server only when that fails.
"""

from flask import Blueprint, current_app, jsonify, request

from backend.inference import max_long_side, network_for
from backend.styles import get_style
from backend.urls import public_url
from backend.validation import validated
from backend.zoo import STUDENT, TEACHER

bp = Blueprint("plan", __name__, url_prefix="/api/v1")

DEFAULT_POLICY = {
    "force": None,  # "device" or "server" sends everyone one way
    # PC WeChat (windows, mac) uses the server; "web" is the web app (a browser, TF.js in a Web Worker).
    "device_platforms": ["ios", "android", "ohos", "devtools", "web"],
    "min_memory_mb": 3000,
    "min_benchmark_level": 10,  # wx.getDeviceBenchmarkInfo; -1 (unknown) is let through, -2 and 0 are not
    "device_sizes": [512, 384, 256],  # tried from the largest
    "variant": "uint8",  # the smaller download
    "float16_min_memory_mb": 6000,  # phones with this much memory get the float16 variant
    "texture_memory_fraction": 0.25,  # at most this share of the phone's memory in WebGL textures
    "default_max_texture_size": 4096,  # when the client does not say
    "unprofiled_max_size": 256,  # largest phone size when the manifest has no WebGL figures
    "beyond_profile": False,  # True: sizes above the largest measured one are estimated, not refused
    # A local network (manifest `tiling` without statistics: the students) runs on the phone in
    # tiles of the device size, up to this long side (the photo's own when smaller). A student-sized
    # network in TF.js (Node, WASM) in tiles of 512: ~170 MB of tensors and 4 s at 2048x1536, 16 s
    # at 4096x3072; untiled 2.6 GB at 2048x1536 (bench/bench_tiling.py).
    "device_tiled_long_side": 2048,
    # The server can do 4096 (JOB_MAX_LONG_SIDE), but 1024x768 costs ~3.7x the CPU of 512x384 and
    # 4096x3072 ~80x: the plan keeps server jobs at 512 and clients ask for more ("original").
    "server_long_side": 512,
    # WeChat's own engine (wx.createInferenceSession, the style's `wechat` ONNX variant) for
    # phones that say they have it; its CPU inference needs no WebGL texture figures.
    "wechat_engine": True,
    "wechat_max_size": 512,
    "wechat_precision_level": None,  # None: the level the model zoo recommends for the style
}


def policy():
    return {**DEFAULT_POLICY, **(current_app.config["PLAN_POLICY"] or {})}


def texture_need(variant, size, settings, beyond_profile=False, max_texture=None):
    """(largest texture side, texture bytes, known to fail) at `size`, from the WebGL figures
    measured with the manifest's `webgl_settings` (scaled from the nearest measured size when
    that size was not measured); None when nothing was measured.

    Runs are measured under several texture-size limits (`max_texture_size`); TF.js lays out its
    textures differently under each, so the run under the device's own limit (or the largest
    limit below it) is the one that applies."""
    webgl = (variant.get("profile") or {}).get("webgl") or []
    entries = [e for e in webgl if e.get("size") and (e.get("max_texture_width") or e.get("max_texture_height"))]
    same_settings = [
        e
        for e in entries
        if e.get("im2col") == settings.get("WEBGL_CONV_IM2COL")
        and e.get("delete_texture_threshold") == settings.get("WEBGL_DELETE_TEXTURE_THRESHOLD")
    ]
    entries = same_settings or entries
    limits = sorted({e["max_texture_size"] for e in entries if e.get("max_texture_size")})
    if limits and max_texture:
        applicable = [limit for limit in limits if limit <= max_texture] or limits[:1]
        entries = [e for e in entries if e.get("max_texture_size") in (None, applicable[-1])]
    if not entries:
        return None
    if size > max(e["size"] for e in entries) and not beyond_profile:
        return 0, 0, True  # never measured this large: not planned for a phone
    entry = min(entries, key=lambda e: (abs(e["size"] - size), -e["size"]))
    ratio = size / entry["size"]
    side = max(entry.get("max_texture_width") or 0, entry.get("max_texture_height") or 0) * ratio
    texture_bytes = (entry.get("texture_bytes") or 0) * ratio * ratio
    # A run at this very size that failed with textures within the limit failed for another reason.
    failed = entry["size"] == size and not entry.get("ok") and side <= (entry.get("max_texture_size") or 4096)
    return side, texture_bytes, failed


def device_size(settings, variant, long_side, memory_mb, max_texture, rules):
    """The largest phone size that fits the device with the network's WebGL `settings`, or None."""
    for size in sorted(rules["device_sizes"], reverse=True):
        size = min(size, long_side)
        need = texture_need(variant, size, settings, rules["beyond_profile"], max_texture)
        if need is None:
            if size <= rules["unprofiled_max_size"]:
                return size
            continue
        side, texture_bytes, failed = need
        budget = rules["texture_memory_fraction"] * memory_mb * 2**20
        if not failed and side <= max_texture and texture_bytes <= budget:
            return size
    return None


def device_tiles(tiling, tile):
    """Whether the phone can stylize a network in tiles of `tile` pixels: a local network (its
    `tiling` has no statistics of the whole picture) and a tile over twice the overlap."""
    tiling = tiling or {}
    return "overlap" in tiling and not tiling.get("statistics", True) and tile > 2 * tiling["overlap"]


def on_device(style, name, network, size, long_side, rules, runs, **extra):
    """A device plan running the variant `name` of `network` at `size` pixels: in tiles of that
    size, up to `device_tiled_long_side`, when the network is local and the photo larger. It says
    what the client downloads (`manifest_url`) and how it runs it; `runs` starts the reason."""
    plan = {
        "where": "device",
        "network": network,
        "variant": name,
        "long_side": size,
        "manifest_url": public_url("styles.manifest", style_id=style.id, variant=name),
        **extra,
    }
    tiling = style.facts(network).get("tiling")
    tiled = min(long_side, rules["device_tiled_long_side"])
    if tiled > size and device_tiles(tiling, size):
        plan.update(long_side=tiled, tile=size, overlap=tiling["overlap"])
        return {**plan, "reason": f"{runs} in tiles of {size} pixels."}
    return {**plan, "reason": f"{runs} at {size} pixels."}


def decide(style, facts, rules):
    long_side = max(facts["width"], facts["height"])
    model = current_app.config["SERVER_MODEL"]
    server = {
        "where": "server",
        "variant": None,
        "model": model,
        "long_side": min(
            rules["server_long_side"],
            long_side,
            max_long_side(style, current_app.config, network_for(style, model)),
        ),
    }
    if rules["force"] == "server":
        return {**server, "reason": "The operator sends every photo to the server."}
    memory_mb, level = facts["memory_mb"], facts["benchmark_level"]
    if rules["force"] != "device":
        if facts["platform"] not in rules["device_platforms"]:
            return {**server, "reason": f"Stylizing on {facts['platform'] or 'this platform'} is done by the server."}
        if memory_mb is None or memory_mb < rules["min_memory_mb"]:
            return {**server, "reason": "The phone has too little memory (or did not say how much)."}
        if level is not None and level != -1 and level < rules["min_benchmark_level"]:
            return {**server, "reason": "The phone is too slow for on-device stylization."}
    memory_mb = memory_mb or rules["min_memory_mb"]
    network = STUDENT if style.has_student else TEACHER  # phones get the student when there is one
    wechat_name, wechat = style.network_variant(network, "wechat")
    if wechat and facts["inference_engine"] and rules["wechat_engine"]:
        return wechat_plan(style, wechat_name, wechat, network, long_side, rules)
    names = ["float16", rules["variant"]] if memory_mb >= rules["float16_min_memory_mb"] else [rules["variant"]]
    variants = dict(style.network_variant(network, name) for name in names)
    variants = {name: variant for name, variant in variants.items() if variant}
    measured = {name: variant for name, variant in variants.items() if "profile" in variant}
    if variants and not measured:
        return {**server, "reason": "The style is not measured on phones yet."}
    settings = style.facts(network).get("webgl_settings") or {}
    for name, variant in measured.items():
        max_texture = facts["max_texture"] or rules["default_max_texture_size"]
        size = device_size(settings, variant, long_side, memory_mb, max_texture, rules)
        if size:
            what = f"the {name} model" if network == TEACHER else f"the style's student ({name})"
            runs = f"The phone can run {what}"
            # The TF.js plugin (no `engine`), with the network's WebGL flags.
            return on_device(style, name, network, size, long_side, rules, runs, webgl_settings=settings)
    return {**server, "reason": "The model's textures do not fit this phone's WebGL limits."}


def wechat_plan(style, name, variant, network, long_side, rules):
    """A phone with wx.createInferenceSession runs the `wechat` ONNX variant (the student's when
    there is one, in tiles when the photo is larger) at the precision level the model zoo measured
    for it (or the operator's)."""
    size = min(rules["wechat_max_size"], long_side)
    level = rules["wechat_precision_level"]
    if level is None:
        level = (variant.get("engine") or {}).get("precision_level", 4)
    runs = "The phone runs the model with WeChat's inference engine"
    return on_device(style, name, network, size, long_side, rules, runs, engine="wechat", precision_level=level)


@bp.post("/plan")
@validated
def plan():
    body = request.get_json()  # checked against the description (backend/openapi.py)
    style = get_style(body["style"])
    facts = {
        "width": int(body["photo"]["width"]),
        "height": int(body["photo"]["height"]),
        "memory_mb": body.get("memorySize"),
        "benchmark_level": body.get("benchmarkLevel"),
        "max_texture": body.get("maxTextureSize"),
        "platform": (body.get("platform") or "").lower(),
        "inference_engine": body.get("inferenceEngine") is True,
    }
    return jsonify(decide(style, facts, policy()))
