// A TCP proxy on 127.0.0.1 that behaves like a slow link between a browser
// and a server (`npm run bench:load`). The kernel here has no netem (`tc
// qdisc ... netem` fails), so the link is simulated in user space:
// - one link per direction, shared by every connection in that direction
//   (Firefox opens several connections; a real access link is one pipe), on
//   which the bytes are cut into segments and serialized one after another at
//   the link rate;
// - after its serialization a segment is delivered RTT/2 later (propagation);
// - a new connection pays one RTT before its first byte goes upstream (the
//   TCP handshake the loopback connect skips).
// Not modelled: TCP slow start, receive windows, loss, ACK traffic. Bytes are
// counted per direction (payload as carried, without simulated headers).

import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LinkProfile {
  /** Short name used on the command line (`--profiles 1m,10m,none`). */
  name: string;
  /** What a reader sees in the report. */
  label: string;
  /** Server -> browser rate; null: unlimited. */
  downBitsPerSecond: number | null;
  /** Browser -> server rate; null: unlimited. */
  upBitsPerSecond: number | null;
  /** Round-trip time; half of it is added in each direction. */
  rttMs: number;
}

export const LINK_PROFILES: Record<string, LinkProfile> = {
  '1m': { name: '1m', label: '1 Mbit/s each way, 100 ms RTT', downBitsPerSecond: 1_000_000, upBitsPerSecond: 1_000_000, rttMs: 100 },
  '10m': { name: '10m', label: '10 Mbit/s each way, 40 ms RTT', downBitsPerSecond: 10_000_000, upBitsPerSecond: 10_000_000, rttMs: 40 },
  none: { name: 'none', label: 'no throttling (proxy in the path, no limits)', downBitsPerSecond: null, upBitsPerSecond: null, rttMs: 0 },
};

/** Ethernet-sized TCP payload: the unit the link serializes. */
export const SEGMENT_BYTES = 1460;
/** IPv4 + TCP headers per segment: they take link time too (without options; real stacks add ~12 for timestamps). */
export const SEGMENT_OVERHEAD_BYTES = 40;

export interface ByteCounters {
  /** Bytes server -> browser. */
  down: number;
  /** Bytes browser -> server. */
  up: number;
  /** Connections the browser opened. */
  connections: number;
}

/**
 * What one response should cost on the link instead of what it is (the
 * bench's "ideal" condition: brotli's page in a browser without extension,
 * its document charged as if it were crcsync's). Applies to the next request
 * for `path` on any connection: its request line and headers take
 * `extraUpBytes` more on the up link (the If-Block header the browser did not
 * send), and the response's body bytes are charged at `bodyCharge` of their
 * size on the down link, its status line and headers in full. HTTP/1.1 only:
 * a response is what comes down a connection between its request and the
 * next one.
 */
export interface ResponseCharge {
  path: string;
  bodyCharge: number;
  extraUpBytes: number;
}

export interface ThrottleProxy {
  /** http://127.0.0.1:PORT */
  origin: string;
  port: number;
  profile: LinkProfile;
  /** Takes effect for bytes arriving from now on. Change it only while the link is idle. */
  setProfile(profile: LinkProfile): void;
  /** The next request for `charge.path` costs what `charge` says (see ResponseCharge); replaces a charge not yet used. */
  chargeNext(charge: ResponseCharge): void;
  /** Whether the last chargeNext was applied to a request (and is used up). */
  chargeApplied(): boolean;
  /** Running totals since the proxy started; take differences around a load. */
  counters(): ByteCounters;
  /** Closes every open connection (both sides), drops what was still on the link and a charge not yet used. */
  closeConnections(): void;
  close(): Promise<void>;
}

/** A request's first line, as a browser writes it at the start of a request (HTTP/1.1). */
const REQUEST_LINE = /^[A-Z]+ (\S+) HTTP\/1\.[01]\r\n/;

interface Delivery {
  dueAt: number;
  /** Bytes to write, or null for an action (end / destroy) that keeps its place behind the bytes. */
  bytes: Buffer | null;
  target: net.Socket;
  action?: 'end' | 'destroy';
}

/**
 * One direction of the link: a FIFO of segments from every connection,
 * serialized at the rate and delivered after the one-way delay. Delivery
 * times only grow, so a single timer for the head of the queue suffices.
 */
export class PacedLink {
  private busyUntil = 0;
  private lastDueAt = 0;
  private readonly queue: Delivery[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private bitsPerSecond: number | null,
    private delayMs: number,
    private readonly segmentBytes = SEGMENT_BYTES,
    private readonly overheadBytes = SEGMENT_OVERHEAD_BYTES,
  ) {}

  configure(bitsPerSecond: number | null, delayMs: number): void {
    this.bitsPerSecond = bitsPerSecond;
    this.delayMs = delayMs;
  }

  /**
   * Puts `bytes` on the link towards `target`. `charge` scales the link time
   * the bytes take (1: what they are; 0.2: as if they were a fifth as many),
   * for the bench's "ideal" condition (ResponseCharge).
   */
  send(bytes: Buffer, target: net.Socket, charge = 1): void {
    const now = performance.now();
    if (this.bitsPerSecond === null && this.delayMs === 0 && this.pending() === 0) {
      // An unlimited link with nothing queued: no timer in the way.
      if (!target.destroyed) target.write(bytes);
      return;
    }
    for (let offset = 0; offset < bytes.length; offset += this.segmentBytes) {
      const segment = bytes.subarray(offset, offset + this.segmentBytes);
      let sentAt = now;
      if (this.bitsPerSecond !== null) {
        const start = Math.max(now, this.busyUntil);
        sentAt = start + ((segment.length + this.overheadBytes) * 8 * 1000 * charge) / this.bitsPerSecond;
        this.busyUntil = sentAt;
      }
      this.enqueue({ dueAt: sentAt + this.delayMs, bytes: segment, target });
    }
  }

  /** Keeps the link busy for as long as `bytes` more would take (bytes a request would carry but this one does not). */
  occupy(bytes: number): void {
    if (this.bitsPerSecond === null || bytes <= 0) return;
    this.busyUntil = Math.max(performance.now(), this.busyUntil) + (bytes * 8 * 1000) / this.bitsPerSecond;
  }

  /** Ends or destroys `target` once everything sent to it before has been delivered. */
  finish(target: net.Socket, action: 'end' | 'destroy'): void {
    if (this.pending() === 0 && this.delayMs === 0) {
      applyAction(target, action);
      return;
    }
    this.enqueue({ dueAt: performance.now() + this.delayMs, bytes: null, target, action });
  }

  /** Drops everything queued (the sockets are being destroyed anyway). */
  clear(): void {
    this.queue.length = 0;
    this.head = 0;
    this.busyUntil = 0;
    this.lastDueAt = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  pending(): number {
    return this.queue.length - this.head;
  }

  private enqueue(delivery: Delivery): void {
    // A profile change while bytes are queued must not reorder them.
    delivery.dueAt = Math.max(delivery.dueAt, this.lastDueAt);
    this.lastDueAt = delivery.dueAt;
    this.queue.push(delivery);
    if (!this.timer) this.arm();
  }

  private arm(): void {
    if (this.pending() === 0) {
      this.timer = null;
      this.queue.length = 0;
      this.head = 0;
      return;
    }
    const wait = Math.max(0, this.queue[this.head].dueAt - performance.now());
    this.timer = setTimeout(() => this.deliverDue(), wait);
  }

  private deliverDue(): void {
    // setTimeout fires at whole milliseconds: deliver what is due within half of one.
    const now = performance.now() + 0.5;
    while (this.head < this.queue.length && this.queue[this.head].dueAt <= now) {
      const delivery = this.queue[this.head++];
      if (delivery.target.destroyed) continue;
      if (delivery.bytes) delivery.target.write(delivery.bytes);
      else applyAction(delivery.target, delivery.action!);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.arm();
  }
}

function applyAction(target: net.Socket, action: 'end' | 'destroy'): void {
  if (target.destroyed) return;
  if (action === 'end') target.end();
  else target.destroy();
}

export async function startThrottleProxy(options: {
  targetPort: number;
  targetHost?: string;
  profile: LinkProfile;
  /** Charge one RTT before a new connection's first byte goes upstream (default true). */
  handshake?: boolean;
}): Promise<ThrottleProxy> {
  const targetHost = options.targetHost ?? '127.0.0.1';
  const handshake = options.handshake ?? true;
  let profile = options.profile;
  const down = new PacedLink(profile.downBitsPerSecond, profile.rttMs / 2);
  const up = new PacedLink(profile.upBitsPerSecond, profile.rttMs / 2);
  const totals: ByteCounters = { down: 0, up: 0, connections: 0 };
  const sockets = new Set<net.Socket>();
  let pendingCharge: ResponseCharge | null = null;
  let chargeUsed = false;

  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // a reset is handled by 'close'
  };

  const server = net.createServer((client) => {
    totals.connections++;
    track(client);
    client.setNoDelay(true);
    const upstream = net.connect({ host: targetHost, port: options.targetPort });
    track(upstream);
    upstream.setNoDelay(true);

    // The response this connection is carrying is charged differently (chargeNext): null, or how.
    let charging: { bodyCharge: number; inBody: boolean; headerTail: string } | null = null;
    const sendUp = (chunk: Buffer) => {
      // Request lines matter only while a charge waits for its request or is being applied.
      const request = pendingCharge || charging ? REQUEST_LINE.exec(chunk.subarray(0, 2048).toString('latin1')) : null;
      if (request) {
        charging = null;
        if (pendingCharge && request[1] === pendingCharge.path) {
          up.occupy(pendingCharge.extraUpBytes);
          charging = { bodyCharge: pendingCharge.bodyCharge, inBody: false, headerTail: '' };
          pendingCharge = null;
          chargeUsed = true;
        }
      }
      up.send(chunk, upstream);
    };
    const sendDown = (chunk: Buffer) => {
      if (!charging) return down.send(chunk, client);
      if (charging.inBody) return down.send(chunk, client, charging.bodyCharge);
      // Status line and headers in full, the body from the blank line on at its charge.
      const seen = charging.headerTail + chunk.toString('latin1');
      const end = seen.indexOf('\r\n\r\n');
      if (end < 0) {
        charging.headerTail = seen.slice(-3);
        return down.send(chunk, client);
      }
      const bodyStart = end + 4 - charging.headerTail.length;
      charging.inBody = true;
      down.send(chunk.subarray(0, bodyStart), client);
      if (bodyStart < chunk.length) down.send(chunk.subarray(bodyStart), client, charging.bodyCharge);
    };

    // Browser -> server: held back for the handshake's round trip, then on the up link.
    const openAt = performance.now() + (handshake ? profile.rttMs : 0);
    let held: Buffer[] | null = handshake && profile.rttMs > 0 ? [] : null;
    let clientEnded = false;
    if (held) {
      setTimeout(() => {
        const waiting = held ?? [];
        held = null;
        for (const chunk of waiting) sendUp(chunk);
        if (clientEnded) up.finish(upstream, 'end');
      }, Math.max(0, openAt - performance.now()));
    }
    client.on('data', (chunk: Buffer) => {
      totals.up += chunk.length;
      if (held) held.push(chunk);
      else sendUp(chunk);
    });
    client.on('end', () => {
      clientEnded = true;
      if (!held) up.finish(upstream, 'end');
    });
    client.on('close', (hadError) => {
      if (hadError || !clientEnded) up.finish(upstream, 'destroy');
    });

    // Server -> browser: on the down link.
    let upstreamEnded = false;
    upstream.on('data', (chunk: Buffer) => {
      totals.down += chunk.length;
      sendDown(chunk);
    });
    upstream.on('end', () => {
      upstreamEnded = true;
      down.finish(client, 'end');
    });
    upstream.on('close', (hadError) => {
      if (hadError || !upstreamEnded) down.finish(client, 'destroy');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const closeConnections = () => {
    // A charge that found no request (a load that failed before it) must not fall on a later load.
    pendingCharge = null;
    down.clear();
    up.clear();
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    get profile() {
      return profile;
    },
    setProfile(next) {
      profile = next;
      down.configure(next.downBitsPerSecond, next.rttMs / 2);
      up.configure(next.upBitsPerSecond, next.rttMs / 2);
    },
    chargeNext(charge) {
      pendingCharge = { ...charge };
      chargeUsed = false;
    },
    chargeApplied: () => chargeUsed,
    counters: () => ({ ...totals }),
    closeConnections,
    close: () =>
      new Promise<void>((resolve) => {
        closeConnections();
        server.close(() => resolve());
      }),
  };
}
