// crcsync as a Cloudflare Worker (workerd) in front of any origin: the
// web-standard handler of src/edge/fetch-handler.ts with the WASM core.
// workerd does not compile WebAssembly from bytes at run time, so the core
// comes in as a module (wrangler's CompiledWasm rule for *.wasm, see
// wrangler.toml) and the engine is made from it once per isolate.
//
// Deploy: build the core (`npm run build` at the repository root), set
// ORIGIN in wrangler.toml, then `npx wrangler deploy` in this folder.

import coreModule from '../../core-wasm/build/crcsync.wasm';
import { createWasmEngine } from '../../src/core/wasm-engine';
import { FetchHandler, createFetchHandler } from '../../src/edge/fetch-handler';

export interface Env {
  /** The origin's base URL, e.g. https://origin.example.com (requests keep their path and query). */
  ORIGIN: string;
}

let handler: FetchHandler | null = null;
let handlerOrigin = '';

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (!handler || handlerOrigin !== env.ORIGIN) {
      handler = createFetchHandler({ origin: env.ORIGIN, engine: createWasmEngine(coreModule as unknown as WebAssembly.Module) });
      handlerOrigin = env.ORIGIN;
    }
    return handler(request);
  },
};
