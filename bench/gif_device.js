// Animated GIFs on the device (miniprogram/core/gif.js): time per frame of decoding, compositing,
// quantizing and encoding, and peak memory, against the frame count. The stylization is a cheap
// stand-in giving full-colour frames (`fullColour`), so the figures are those of the GIF machinery
// alone (a model adds its own time per frame, as for a photo of the frame's size).
//
//   node bench/gif_device.js [--sizes 480x360,960x720] [--frames 10,50,100]
//
// Prints one JSON line per (size, frames): input and output bytes, milliseconds in all and per
// frame, and the process's peak RSS. Each run is in its own process (its peak is its own).
// Measured on the 2-core development machine (busy with other work), gifenc's 'rgb444' binning:
//   480x360: 10 frames 26 ms/frame (peak RSS 76 MB), 50 frames 24 ms/frame (102 MB)
//   960x720: 10 frames 111 ms/frame (106 MB)
// The peak grows by the compressed input and output (about 0.04 MB a frame at 480x360 here), not
// by the decoded frames. With gifenc's default 'rgb565' binning one full-colour 480x360 frame took
// 3 to 8 s to quantize, hence 'rgb444' in core/gif.js.

const { execFileSync } = require('child_process');
const { createGifWriter, stylizeGif } = require('../miniprogram/core/gif');

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

// A photo-like frame: smooth colour ramps with a moving pattern, so that each frame differs.
function frame(width, height, index) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 4;
      data[at] = (x + index * 7) % 256;
      data[at + 1] = (y * 2 + index * 3) % 256;
      data[at + 2] = 128 + 127 * Math.sin((x + y + index * 5) / 23);
      data[at + 3] = 255;
    }
  }
  return { data, width, height };
}

// The stand-in for a model: the frame with a little position-dependent change in every channel,
// so that, like a stylized frame, it has many thousands of colours to quantize.
function fullColour({ data, width, height }) {
  const out = new Uint8ClampedArray(data.length);
  for (let i = 0; i < data.length; i += 4) {
    for (let c = 0; c < 3; c++) out[i + c] = data[i + c] + ((i >> 2) * (c + 3)) % 7 - 3;
    out[i + 3] = 255;
  }
  return { data: out, width, height };
}

async function measure(width, height, frames) {
  const writer = createGifWriter({ loop: 0 });
  for (let i = 0; i < frames; i++) writer.add(frame(width, height, i), 40);
  const source = writer.finish();
  const started = process.hrtime.bigint();
  const result = await stylizeGif(source, fullColour);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return {
    size: `${width}x${height}`, frames, input_bytes: source.length, output_bytes: result.bytes.length,
    ms: Math.round(ms), ms_per_frame: Math.round(ms / frames), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

async function main() {
  const child = option('child');
  if (child) {
    const [size, frames] = child.split(':');
    const [width, height] = size.split('x').map(Number);
    console.log(JSON.stringify(await measure(width, height, Number(frames))));
    return;
  }
  for (const size of option('sizes', '480x360,960x720').split(',')) {
    for (const frames of option('frames', '10,50,100').split(',')) {
      process.stdout.write(execFileSync(process.execPath, [__filename, '--child', `${size}:${frames}`]));
    }
  }
}

main().catch((error) => { console.error(error); process.exit(1); });
