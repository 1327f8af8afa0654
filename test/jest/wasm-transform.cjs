// Jest stand-in for esbuild's binary loader: a .wasm import yields its bytes.
module.exports = {
  process(_source, filename) {
    return { code: `module.exports = new Uint8Array(require('fs').readFileSync(${JSON.stringify(filename)}));` };
  },
};
