// Which origins speak crcsync: a response with `Capability: crcsync` teaches
// its origin (settings' learned state), whichever browser path saw it.

import { originOf } from '../../src/protocol/client-policy';
import { withCapableOrigin } from '../shared/settings';
import type { ServiceHandle } from './services';

export function learnCapability(services: ServiceHandle, url: string): void {
  const origin = originOf(url);
  if (!origin) return;
  void services.whenReady().then((ready) => ready?.settings.learn((learned) => withCapableOrigin(learned, origin, Date.now())));
}
