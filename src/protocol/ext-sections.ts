// The section plan of an extension body (docs/extensions.md): the v=1
// matching of DeltaSectionScanner, with each literal run cut into pieces
// that carry their preset dictionary (the last 32 KiB of the body before
// them), and C checkpoints placed between sections. Events only, before any
// compression: ExtDeltaEncoder writes them with a synchronous compressor; an
// adapter may deflate the pieces asynchronously (the server's thread pool).
//
// Every decision here depends on the body alone, never on the chunking or
// the compressor, so any two encoders plan the same sections.

import { ByteWindow } from './byte-buffers';
import { DeltaSectionOptions, DeltaSectionScanner, DeltaSectionStats } from './delta-sections';
import { DICTIONARY_WINDOW_BYTES, MIN_CHECKPOINT_SPACING_BYTES } from './ext-wire';
import { IfBlock } from './if-block';
import { Sha1Hasher, nobleSha1 } from './sha1';

export interface ExtSectionListener {
  /** `B index`. */
  onBlock(index: number): void;
  /**
   * One literal piece, whole: a `D` section deflated with `dictionary` as
   * preset dictionary, or a `Z` section when the dictionary is empty (nothing
   * rebuilt yet). Both views are valid only during the call: copy what you
   * keep (an asynchronous deflater must).
   */
  onLiteralPiece(piece: Uint8Array, dictionary: Uint8Array): void;
  /** `C`: SHA-1 of the body so far. */
  onCheckpoint(digest: Uint8Array): void;
  /** `S`: SHA-1 of the whole body; the last event. */
  onDigest(digest: Uint8Array): void;
}

/**
 * Where checkpoints go. Literal bytes are what costs transfer time (a B
 * section rebuilds a whole block from 2 delta bytes), so checkpoints follow
 * them:
 * - after a section (or cutting a literal run), once the body bytes not yet
 *   verified reach the spacing (firstBytes, doubling after each checkpoint up
 *   to maxBytes) and at least minLiteralBytes literal bytes came since the
 *   previous checkpoint: output from B sections alone arrives in a few delta
 *   bytes, and a checkpoint there would cost 21 bytes and release nothing
 *   sooner;
 * - before a literal piece (when beforeLiteral), once the unverified body
 *   bytes reach the spacing, literal or not: what the B sections rebuilt goes
 *   to the page before the literal bytes take their transfer time.
 */
export interface CheckpointPolicy {
  firstBytes: number;
  maxBytes: number;
  minLiteralBytes: number;
  beforeLiteral: boolean;
}

/** The default, chosen by measurement over the corpus (docs/extensions.md, Rationale). */
export const DEFAULT_CHECKPOINT_POLICY: CheckpointPolicy = { firstBytes: 2 * 1024, maxBytes: 32 * 1024, minLiteralBytes: 1024, beforeLiteral: true };

/** A literal run is cut into pieces of at most this many bytes (bounds what a piece holds, and a thread-pool job). */
export const MAX_PIECE_BYTES = 32 * 1024;

export interface ExtSectionOptions extends DeltaSectionOptions {
  /** Checkpoint placement; null places none (measurements only: the body is then verified at S alone). */
  checkpoints?: CheckpointPolicy | null;
  /** Pieces shorter than this go out as Z (a dictionary cannot pay its 4-byte DICTID on them). */
  minDictionaryPieceBytes?: number;
}

export const DEFAULT_MIN_DICTIONARY_PIECE_BYTES = 16;

/**
 * The encoder's dictionary budget (PROTOCOL.md §5: no If-Block may make a
 * response cost more than a small multiple of gzip-6). Loading a 32 KiB
 * dictionary costs a deflater about what hashing 32 KiB of input does, and
 * a hostile If-Block can make a literal run of every few hundred bytes (the
 * economy guard allows 8 + one per 4 KiB of body). So pieces get a
 * dictionary only while the dictionary bytes so far stay within this many
 * free bytes plus this many per body byte planned; later pieces go out as
 * Z. Honest deltas over the corpus load at most 5.1 dictionary bytes per
 * body byte, all on small bodies within the free part (median 0.9).
 */
export const ENCODER_DICTIONARY_FREE_BYTES = 256 * 1024;
export const ENCODER_DICTIONARY_BYTES_PER_BODY_BYTE = 2;

export interface ExtSectionStats extends DeltaSectionStats {
  checkpoints: number;
  /** Literal pieces sent as D (with a dictionary) and as Z. */
  dictionaryPieces: number;
  plainPieces: number;
  /** Dictionary bytes the decoder will load (the sum of the D dictionaries' sizes). */
  dictionaryBytes: number;
}

/** The scanner's own SHA-1 is not needed: the planner hashes the body in section order. */
const SKIPPED_SHA1 = (): Sha1Hasher => ({ update: () => undefined, digest: () => new Uint8Array(0) });

export class ExtSectionPlanner {
  readonly stats: ExtSectionStats;

  private readonly scanner: DeltaSectionScanner;
  private readonly hasher: Sha1Hasher;
  private readonly policy: CheckpointPolicy | null;
  private readonly minDictionaryPieceBytes: number;
  /** The last DICTIONARY_WINDOW_BYTES (or more) of the body planned so far. */
  private readonly recent = new ByteWindow();
  private readonly piece = new Uint8Array(MAX_PIECE_BYTES);
  private pieceLength = 0;
  /** Body bytes planned so far (blocks and finished pieces). */
  private planned = 0;
  /** Body offset of the last checkpoint (0: none yet), the spacing now, and literal bytes since. */
  private verifiedAt = 0;
  private spacing: number;
  private literalSinceCheckpoint = 0;
  /** A checkpoint taken but not yet written (see considerCheckpoint). */
  private dueDigest: Uint8Array | null = null;

  constructor(
    ifBlock: IfBlock,
    options: ExtSectionOptions,
    private readonly listener: ExtSectionListener,
  ) {
    this.hasher = (options.sha1 ?? nobleSha1)();
    if (!this.hasher.digestSoFar) throw new TypeError('the extension needs a SHA-1 whose hashers have digestSoFar');
    this.policy = options.checkpoints === undefined ? DEFAULT_CHECKPOINT_POLICY : options.checkpoints;
    if (this.policy && this.policy.firstBytes < MIN_CHECKPOINT_SPACING_BYTES) {
      throw new RangeError(`checkpoints must be at least ${MIN_CHECKPOINT_SPACING_BYTES} bytes apart`);
    }
    this.spacing = this.policy?.firstBytes ?? Infinity;
    this.minDictionaryPieceBytes = options.minDictionaryPieceBytes ?? DEFAULT_MIN_DICTIONARY_PIECE_BYTES;
    this.scanner = new DeltaSectionScanner(ifBlock, { ...options, sha1: SKIPPED_SHA1 }, {
      onBlock: (index, bytes) => this.block(index, bytes),
      onLiteral: (bytes, runEnds) => this.literal(bytes, runEnds),
      // A checkpoint still pending here would verify what S verifies a few bytes later: it is dropped.
      onDigest: () => this.listener.onDigest(this.hasher.digest()),
    });
    this.stats = { ...this.scanner.stats, checkpoints: 0, dictionaryPieces: 0, plainPieces: 0, dictionaryBytes: 0 };
  }

  push(chunk: Uint8Array, final = false): void {
    this.scanner.push(chunk, final);
    Object.assign(this.stats, this.scanner.stats);
  }

  /** Releases the matcher when the body will not be finished, e.g. the client went away. */
  dispose(): void {
    this.scanner.dispose();
  }

  private block(index: number, bytes: Uint8Array): void {
    this.emitDueCheckpoint();
    this.listener.onBlock(index);
    this.addToBody(bytes);
    this.considerCheckpoint();
  }

  private literal(bytes: Uint8Array, runEnds: boolean): void {
    let at = 0;
    while (at < bytes.length) {
      if (this.pieceLength === 0) this.beforePiece();
      const take = Math.min(bytes.length - at, this.bytesUntilCut());
      this.piece.set(bytes.subarray(at, at + take), this.pieceLength);
      this.pieceLength += take;
      at += take;
      if (this.pieceLength === MAX_PIECE_BYTES || this.checkpointDue()) {
        this.emitPiece();
        this.considerCheckpoint();
      }
    }
    if (runEnds && this.pieceLength > 0) {
      this.emitPiece();
      this.considerCheckpoint();
    }
  }

  /** Piece bytes that can be added before the piece must end (full, or a checkpoint falls due inside it). */
  private bytesUntilCut(): number {
    const room = MAX_PIECE_BYTES - this.pieceLength;
    if (!this.policy) return room;
    const pending = this.planned + this.pieceLength;
    const untilSpacing = this.verifiedAt + this.spacing - pending;
    const untilLiteral = this.policy.minLiteralBytes - (this.literalSinceCheckpoint + this.pieceLength);
    return Math.max(1, Math.min(room, Math.max(untilSpacing, untilLiteral)));
  }

  /** Whether a checkpoint is due once the open piece is planned. */
  private checkpointDue(): boolean {
    if (!this.policy) return false;
    const pending = this.planned + this.pieceLength;
    return pending - this.verifiedAt >= this.spacing && this.literalSinceCheckpoint + this.pieceLength >= this.policy.minLiteralBytes;
  }

  /**
   * A piece starts: the body the B sections rebuilt goes out verified before
   * the literal bytes take their transfer time (decided before the piece's
   * size is, so the cut points follow from the new spacing).
   */
  private beforePiece(): void {
    if (!this.dueDigest && this.policy?.beforeLiteral && this.planned - this.verifiedAt >= this.spacing) this.takeCheckpoint();
  }

  private emitPiece(): void {
    this.emitDueCheckpoint();
    const piece = this.piece.subarray(0, this.pieceLength);
    const dictionaryLength = Math.min(DICTIONARY_WINDOW_BYTES, this.planned);
    const useDictionary =
      dictionaryLength > 0 &&
      piece.length >= this.minDictionaryPieceBytes &&
      this.stats.dictionaryBytes + dictionaryLength <= ENCODER_DICTIONARY_FREE_BYTES + ENCODER_DICTIONARY_BYTES_PER_BODY_BYTE * this.planned;
    // `recent` holds the tail of the body planned so far (its own offsets; see addToBody).
    const dictionary = useDictionary ? this.recent.view(Math.max(this.recent.start, this.recent.end - DICTIONARY_WINDOW_BYTES), this.recent.end) : new Uint8Array(0);
    if (useDictionary) {
      this.stats.dictionaryPieces++;
      this.stats.dictionaryBytes += dictionary.length;
    } else {
      this.stats.plainPieces++;
    }
    this.listener.onLiteralPiece(piece, dictionary);
    this.literalSinceCheckpoint += piece.length;
    this.pieceLength = 0;
    this.addToBody(piece);
  }

  /**
   * After a section: a checkpoint that falls due is taken now (its digest)
   * and written before the next section, so none ever stands right before S.
   */
  private considerCheckpoint(): void {
    if (this.checkpointDue()) this.takeCheckpoint();
  }

  private takeCheckpoint(): void {
    this.dueDigest = this.hasher.digestSoFar!();
    this.verifiedAt = this.planned;
    this.spacing = Math.min(this.spacing * 2, this.policy!.maxBytes);
    this.literalSinceCheckpoint = 0;
  }

  private emitDueCheckpoint(): void {
    if (!this.dueDigest) return;
    this.listener.onCheckpoint(this.dueDigest);
    this.dueDigest = null;
    this.stats.checkpoints++;
  }

  /** Hashes bytes in body order and keeps the body's last 32 KiB (of a longer block only its tail enters `recent`). */
  private addToBody(bytes: Uint8Array): void {
    this.hasher.update(bytes);
    this.planned += bytes.length;
    this.recent.append(bytes.subarray(Math.max(0, bytes.length - DICTIONARY_WINDOW_BYTES)));
    this.recent.discardBefore(this.recent.end - DICTIONARY_WINDOW_BYTES);
  }
}
