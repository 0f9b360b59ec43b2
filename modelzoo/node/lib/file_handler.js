'use strict';
/**
 * A TF.js IOHandler that loads a graph model (model.json + weight shards) from the local file
 * system, as `tf.io.fileSystem` of @tensorflow/tfjs-node would, without the native binding.
 */
const fs = require('fs');
const path = require('path');

function fileHandler(modelJsonPath) {
  return {
    async load() {
      const modelJson = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8'));
      const folder = path.dirname(modelJsonPath);
      const weightSpecs = [];
      const buffers = [];
      for (const group of modelJson.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const shard of group.paths) {
          buffers.push(fs.readFileSync(path.join(folder, shard)));
        }
      }
      const weightData = Buffer.concat(buffers);
      return {
        modelTopology: modelJson.modelTopology,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy,
        signature: modelJson.signature,
        userDefinedMetadata: modelJson.userDefinedMetadata,
        modelInitializer: modelJson.modelInitializer,
        weightSpecs,
        weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
      };
    },
  };
}

module.exports = {fileHandler};
