// The body pass that answers the x=1 extension (docs/extensions.md): a Node
// Transform around ExtSectionPlanner, writing `X 01`, then B sections, C
// checkpoints, and each literal piece as a D section (deflated with the 32
// KiB of body before it as preset dictionary) or a Z section, then S.
//
// Pieces are deflated on zlib's thread pool, one node `zlib.deflate` per
// piece (a preset dictionary is set once per zlib stream, so each piece has
// its own zlib state), EXT_PIECE_JOBS_IN_FLIGHT at a time per pass: a
// hostile If-Block can make hundreds of pieces in one slice, and each job
// holds a whole deflate state while it runs. A piece waiting for its turn
// holds no copy: pieces and dictionaries are ranges of the recent body,
// which the pass keeps once (retained-body.ts) for as long as a waiting
// piece or the next dictionary needs it.
//
// Held (delta-response.ts), the planner runs without compressing or
// emitting; release() replays its events. The planner's sections depend on
// the body alone, never on its chunking, so a held and a live pass write the
// same bytes whatever the chunks.

import { ExtSectionOptions, ExtSectionPlanner, ExtSectionStats, MAX_PIECE_BYTES } from '../protocol/ext-sections';
import type { DictionaryCompressor } from '../protocol/ext-encoder';
import { DICTIONARY_WINDOW_BYTES, EXT_VERSION, TAG_CHECKPOINT, TAG_DICTIONARY_ZLIB, TAG_EXT_MARKER } from '../protocol/ext-wire';
import { scannerMemoryBound } from '../protocol/delta-sections';
import type { IfBlock } from '../protocol/if-block';
import { TAG_BLOCK, TAG_DIGEST, TAG_ZLIB } from '../protocol/wire';
import { DEFLATE_STATE_BYTES } from './content-coding';
import { deflatePiece } from './node-codecs';
import { RETAINED_BLOCK_BYTES, RetainedBody } from './retained-body';
import { QueuedSection, SectionQueueTransform } from './section-queue-transform';

export interface ExtDeltaTransformOptions extends ExtSectionOptions {
  /** A synchronous compressor (pako: byte-exact with test/vectors-ext; fflate) instead of zlib's thread pool. */
  compressor?: DictionaryCompressor;
  /** Start held: scanHeld() plans without compressing or emitting until release(). */
  held?: boolean;
}

/**
 * Deflate jobs one pass runs at once: one zlib state per response, as a v=1
 * delta and a gzip response hold; the thread pool's parallelism comes from
 * concurrent responses. Measured on the 2-core test machine, 2 or 4 jobs
 * per pass made neither the corpus nor a 1.3 MB new body faster, and each
 * more costs PIECE_JOB_BYTES of every x=1 response's memory charge.
 */
export const EXT_PIECE_JOBS_IN_FLIGHT = 1;

/** One running job: zlib's deflate state, node's copy of the dictionary and ours (when it spans two stored blocks), the piece (or the stored block its view pins), its output and their join. */
const PIECE_JOB_BYTES = DEFLATE_STATE_BYTES + 2 * DICTIONARY_WINDOW_BYTES + RETAINED_BLOCK_BYTES + 2 * MAX_PIECE_BYTES;
/** The planner's own buffers: its open piece and the body's last 32 KiB (a window that may grow to four times that). */
const PLANNER_BYTES = MAX_PIECE_BYTES + 4 * DICTIONARY_WINDOW_BYTES;

/**
 * Most bytes the literal path of one x=1 pass holds for a widest window
 * (tail block) of `windowBytes`; counted against the server's delta memory
 * budget in place of LITERAL_PATH_MEMORY_BYTES (PROTOCOL.md §5):
 * - the running jobs (PIECE_JOB_BYTES each);
 * - the retained body: the 32 KiB before the first piece still waiting,
 *   plus the body one slice's sections can cover (the slice, what the
 *   scanner held back from earlier slices, the planner's open piece), plus a
 *   partly filled block at either end;
 * - the output of one slice's sections waiting to go out in order (no more
 *   than the body they cover: the economy guard), twice for its join;
 * - the planner's buffers.
 * Slices are drained one at a time (section-queue-transform.ts), so pieces
 * of at most one slice wait at once.
 */
export function extLiteralPathMemoryBytes(windowBytes: number): number {
  const sliceSpan = scannerMemoryBound(windowBytes) / 2 + MAX_PIECE_BYTES;
  const retained = DICTIONARY_WINDOW_BYTES + sliceSpan + 2 * RETAINED_BLOCK_BYTES;
  return EXT_PIECE_JOBS_IN_FLIGHT * PIECE_JOB_BYTES + retained + 2 * sliceSpan + PLANNER_BYTES;
}

/** A literal piece as planned: body[offset, offset + length), with body[offset - dictionaryLength, offset) as dictionary (none: a Z section). */
interface PlannedPiece {
  readonly offset: number;
  readonly length: number;
  readonly dictionaryLength: number;
}

/** What the planner said, kept while held and replayed in order by release(); `end`: the body offset after it. */
type PlanEvent =
  | { readonly kind: 'block'; readonly index: number; readonly end: number }
  | { readonly kind: 'piece'; readonly piece: PlannedPiece; readonly end: number }
  | { readonly kind: 'checkpoint'; readonly digest: Uint8Array; readonly end: number }
  | { readonly kind: 'digest'; readonly digest: Uint8Array; readonly end: number };

interface WaitingPiece {
  readonly piece: PlannedPiece;
  resolve(output: Uint8Array): void;
  reject(error: Error): void;
}

export class ExtDeltaTransform extends SectionQueueTransform {
  /** The planner's counters (blocks, runs, pieces, checkpoints, economy stop). */
  readonly stats: ExtSectionStats;
  private planner: ExtSectionPlanner | null;
  private readonly compressor: DictionaryCompressor | null;
  private readonly body = new RetainedBody();
  /** Planner events kept while held, or null once live. */
  private held: PlanEvent[] | null;
  /** Body bytes the planner has placed in sections so far. */
  private planned = 0;
  /** Body bytes whose sections are queued (the events sent so far). */
  private sentEnd = 0;
  private waiting: WaitingPiece[] = [];
  private running = 0;

  constructor(ifBlock: IfBlock, options: ExtDeltaTransformOptions) {
    super();
    this.compressor = options.compressor ?? null;
    this.held = options.held ? [] : null;
    const { blockCount, blockSize, tailSize } = ifBlock.layout;
    this.planner = new ExtSectionPlanner(ifBlock, options, {
      onBlock: (index) => {
        this.planned += index === blockCount - 1 ? tailSize : blockSize;
        this.event({ kind: 'block', index, end: this.planned });
      },
      onLiteralPiece: (piece, dictionary) => {
        // The dictionary is the body's last 32 KiB before the piece: the pass takes it from its own copy of the body.
        if (dictionary.length !== 0 && dictionary.length !== Math.min(DICTIONARY_WINDOW_BYTES, this.planned)) {
          throw new Error(`planner dictionary of ${dictionary.length} bytes at body offset ${this.planned}`);
        }
        const planned = { offset: this.planned, length: piece.length, dictionaryLength: dictionary.length };
        this.planned += piece.length;
        this.event({ kind: 'piece', piece: planned, end: this.planned });
      },
      onCheckpoint: (digest) => this.event({ kind: 'checkpoint', digest: digest.slice(), end: this.planned }),
      onDigest: (digest) => this.event({ kind: 'digest', digest: digest.slice(), end: this.planned }),
    });
    this.stats = this.planner.stats;
    if (!this.held) this.enqueue(Uint8Array.of(TAG_EXT_MARKER, EXT_VERSION));
  }

  get isHeld(): boolean {
    return this.held !== null;
  }

  get isFinished(): boolean {
    return this.planner === null;
  }

  /** Held (scanHeld): plans without compressing; the body is kept for release(). */
  protected holdSlice(slice: Uint8Array, final: boolean): void {
    this.body.append(slice);
    this.planner!.push(slice, final);
    if (final) this.planner = null;
  }

  /** Goes live: the marker and what was held are queued (pieces handed to the compressor in order) before anything written afterwards. */
  release(): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    this.enqueue(Uint8Array.of(TAG_EXT_MARKER, EXT_VERSION));
    for (const event of held) this.send(event);
    this.retain();
  }

  /**
   * Nothing to do: a piece is cut where the plan cuts it (at most 32 KiB),
   * so the open piece stays with the planner; what is measured is the body
   * whose sections are queued (encodedBodyBytes).
   */
  settleOpenRun(): void {
    if (this.held) throw new Error('settleOpenRun needs a released transform');
  }

  /** Bytes of body this pass keeps for pieces still to compress (for tests and diagnostics: bounded by extLiteralPathMemoryBytes once live). */
  get retainedBodyBytes(): number {
    return this.body.heldBytes;
  }

  /** Body bytes whose sections are all queued (the planner's open piece and the scanner's unsettled window are not). */
  get encodedBodyBytes(): number {
    return this.sentEnd;
  }

  protected encodeSlice(slice: Uint8Array, final: boolean): void {
    this.body.append(slice);
    this.planner!.push(slice, final);
    if (final) this.planner = null;
    this.retain();
  }

  protected endEncoding(): void {
    this.body.clear();
  }

  protected releaseResources(): void {
    // Client gone or upstream failed: hand the WASM matcher back to its pool now; pieces not started never will be.
    this.planner?.dispose();
    this.planner = null;
    this.held = null;
    const waiting = this.waiting;
    this.waiting = [];
    for (const job of waiting) job.reject(new Error('the delta pass was destroyed'));
    this.body.clear();
  }

  private event(event: PlanEvent): void {
    if (this.held) this.held.push(event);
    else this.send(event);
  }

  private send(event: PlanEvent): void {
    switch (event.kind) {
      case 'block':
        this.enqueue(Uint8Array.of(TAG_BLOCK, event.index));
        break;
      case 'piece':
        this.enqueue(Uint8Array.of(event.piece.dictionaryLength ? TAG_DICTIONARY_ZLIB : TAG_ZLIB));
        this.enqueue(this.compress(event.piece));
        break;
      case 'checkpoint':
        this.enqueue(Uint8Array.of(TAG_CHECKPOINT, ...event.digest));
        break;
      case 'digest':
        this.enqueue(Uint8Array.of(TAG_DIGEST, ...event.digest));
        break;
    }
    this.sentEnd = event.end;
  }

  private compress(piece: PlannedPiece): QueuedSection {
    if (this.compressor) return this.compressor(...this.pieceAndDictionary(piece));
    const job = new Promise<Uint8Array>((resolve, reject) => this.waiting.push({ piece, resolve, reject }));
    job.catch(() => undefined); // a job dropped when the pass is destroyed is never awaited
    this.startJobs();
    return job;
  }

  private pieceAndDictionary(piece: PlannedPiece): [Uint8Array, Uint8Array] {
    return [this.body.range(piece.offset, piece.offset + piece.length), this.body.range(piece.offset - piece.dictionaryLength, piece.offset)];
  }

  /** Starts waiting pieces, in order, while fewer than EXT_PIECE_JOBS_IN_FLIGHT run. */
  private startJobs(): void {
    while (this.running < EXT_PIECE_JOBS_IN_FLIGHT && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.running++;
      // The piece is a view of a stored block, never overwritten; node copies the dictionary when the job is created.
      deflatePiece(...this.pieceAndDictionary(job.piece))
        .then(job.resolve, job.reject)
        .finally(() => {
          this.running--;
          if (this.destroyed) return;
          try {
            this.startJobs();
          } catch (error) {
            // Outside any stream callback here: fail the pass rather than leave a rejection unhandled.
            this.destroy(error as Error);
          }
        });
    }
    this.retain();
  }

  /**
   * Drops the body no one will read again: before the dictionary of the
   * first piece still waiting, and before the 32 KiB that the next piece to
   * be sent may take as dictionary. Held, everything stays for release().
   */
  private retain(): void {
    if (this.held) return;
    const next = this.waiting[0]?.piece;
    const neededFrom = Math.min(next ? next.offset - next.dictionaryLength : Infinity, this.sentEnd - DICTIONARY_WINDOW_BYTES);
    this.body.discardBefore(neededFrom);
  }
}
