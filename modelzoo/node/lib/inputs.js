'use strict';
/**
 * The inputs of a graph model, by name: a picture (`image`, any size) and, for a network that sees
 * its whole picture, its context (`context`, a fixed square size; docs/modelzoo-format.md). Loaded
 * by Node (require) and by the WebGL page (a script that sets window.modelzooInputs).
 */
(function (exports) {
  /** Random inputs in [-1, 1] for a size×size picture: a named map of every input of `model`,
   * each free side set to `size` and each fixed side kept (a context's). The caller disposes them. */
  function randomInputs(tf, model, size) {
    const inputs = {};
    for (const input of model.inputs) {
      const known = Array.isArray(input.shape) && input.shape.length === 4 ? input.shape : [-1, -1, -1, 3];
      const shape = known.map((side, axis) => (axis === 0 ? 1 : side > 0 ? side : size));
      inputs[input.name] = tf.randomUniform(shape, -1, 1, 'float32');
    }
    return inputs;
  }

  /** `--io` of run_wasm.js: "NAME:IN.npy,NAME:IN.npy=OUT.npy" → {inputs: {NAME: IN.npy}, output}. */
  function parseIo(text) {
    const at = text.lastIndexOf('=');
    if (at < 0) throw new Error(`--io ${text}: expected NAME:IN.npy[,NAME:IN.npy]=OUT.npy`);
    const inputs = {};
    for (const item of text.slice(0, at).split(',')) {
      const colon = item.indexOf(':');
      if (colon < 1) throw new Error(`--io ${text}: expected NAME:IN.npy[,NAME:IN.npy]=OUT.npy`);
      inputs[item.slice(0, colon)] = item.slice(colon + 1);
    }
    return {inputs, output: text.slice(at + 1)};
  }

  exports.randomInputs = randomInputs;
  exports.parseIo = parseIo;
})(typeof module === 'object' && module.exports ? module.exports : (globalThis.modelzooInputs = {}));
