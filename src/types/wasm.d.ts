// esbuild's binary loader (and test/jest/wasm-transform.cjs) turn a .wasm import into its bytes.
declare module '*.wasm' {
  const bytes: Uint8Array;
  export default bytes;
}
