// Peak signal-to-noise ratio between two equally sized RGBA byte arrays (RGB only): how the tests
// compare pictures (phone vs server, browser vs server).
function psnr(a, b) {
  if (a.length !== b.length) throw new Error(`pictures differ in size: ${a.length} vs ${b.length} bytes`);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = a[i + c] - b[i + c];
      sum += d * d;
      n++;
    }
  }
  const mse = sum / n;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

module.exports = { psnr };
