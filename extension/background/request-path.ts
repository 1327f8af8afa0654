// The seam between index.ts and a browser's request path (firefox/ or
// chromium/): what an adapter gets, and what the rest of the background may
// ask of it once its listeners are registered.

import type { ServiceHandle } from './services';

export interface RequestPathDeps {
  services: ServiceHandle;
  /** runtime.getURL(''): tells the background's own requests (the fallback refetch) from the pages'. */
  extensionBaseUrl: string;
}

export interface RequestPath {
  /** Hooks scripts, stylesheets and the like, or stops hooking them (Settings.subresourceDeltas changed). */
  applySubresourceDeltas(wanted: boolean): void;
}
