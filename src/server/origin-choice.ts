// Picks the origin from options: { root }, { upstream }, { demo } or your own { origin }.

import { DemoSite, DemoSiteOptions, demoOrigin } from './demo-site';
import { Origin } from './origin';
import { ProxyOriginOptions, proxyOrigin } from './proxy-origin';
import { staticOrigin } from './static-origin';

export type OriginChoice =
  | { origin: Origin }
  | { root: string; fileCacheBytes?: number }
  | ({ upstream: string | URL } & ProxyOriginOptions)
  | { demo: true | DemoSiteOptions | DemoSite };

export function resolveOrigin(choice: OriginChoice): Origin {
  if ('origin' in choice) return choice.origin;
  if ('root' in choice) return staticOrigin(choice.root, { fileCacheBytes: choice.fileCacheBytes });
  if ('upstream' in choice) return proxyOrigin(choice.upstream, choice);
  const site = choice.demo instanceof DemoSite ? choice.demo : new DemoSite(choice.demo === true ? {} : choice.demo);
  return demoOrigin(site);
}
