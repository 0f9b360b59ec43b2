"""The model zoo: phone-ready, verified, versioned packages of every style.

`python -m modelzoo build-all --output DIR` writes DIR/catalogue.json and one package per style:
TF.js graph models (float16, uint8), an ONNX model, a TF Serving SavedModel, a preview and a
manifest with sha256 checksums, parity figures and the measured memory and latency profile.
The format is documented in docs/modelzoo-format.md and defined by the schemas in
`modelzoo/schemas/`.
"""
