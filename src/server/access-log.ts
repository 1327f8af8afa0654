// One access-log line per response (issue 4): what was asked, what went
// out, and what the full response would have cost, so a log shows the
// savings. Format, space-separated:
//   <ISO time> <method> <url> <status> <encoding> sent=<bytes> full=<bytes> <ms>ms [x=<version>] [pass=<reason>] [delta=<bytes>] [plain=<bytes>] [economy=stop] [aborted]
// `full` is the identity body (after decoding an upstream gzip/br body),
// i.e. what an uncompressed response would have carried; when a body is
// passed through still encoded it is the bytes as sent.

export interface AccessLogEntry {
  time: Date;
  method: string;
  url: string;
  status: number;
  /** Content-Encoding sent (crcsync, gzip, br, an upstream's coding) or identity. */
  encoding: string;
  sentBytes: number;
  fullBytes: number;
  milliseconds: number;
  /** Why no delta was made, when the client sent If-Block (`no-gain`: it would not have beaten the plain response). */
  passReason?: string;
  /** A delta was made but the plain response went out (pass=no-gain): the delta's size. */
  deltaBytes?: number;
  /** The delta went out after the plain body was made to compare: the plain body's size. */
  plainBytes?: number;
  /** The response ended early (client gone, upstream failed). */
  aborted?: boolean;
  /**
   * `stop`: the delta's economy guard stopped matching and sent the rest of
   * the body as literal bytes, because matching no longer paid (PROTOCOL.md §5).
   */
  economy?: 'stop';
  /** The delta sent is an extension body of this version (`x=1`, docs/extensions.md); absent for a v=1 delta and any other body. */
  extension?: number;
}

export type AccessLogSink = (entry: AccessLogEntry) => void;

/** URL as logged: control characters and spaces escaped so one request stays one line. */
function safeUrl(url: string): string {
  return url.replace(/[\x00-\x20\x7f]/g, (char) => `%${char.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}

export function formatAccessLog(entry: AccessLogEntry): string {
  const parts = [
    entry.time.toISOString(),
    entry.method,
    safeUrl(entry.url),
    String(entry.status),
    entry.encoding,
    `sent=${entry.sentBytes}`,
    `full=${entry.fullBytes}`,
    `${entry.milliseconds.toFixed(1)}ms`,
  ];
  if (entry.extension) parts.push(`x=${entry.extension}`);
  if (entry.passReason) parts.push(`pass=${entry.passReason}`);
  if (entry.deltaBytes !== undefined) parts.push(`delta=${entry.deltaBytes}`);
  if (entry.plainBytes !== undefined) parts.push(`plain=${entry.plainBytes}`);
  if (entry.economy) parts.push(`economy=${entry.economy}`);
  if (entry.aborted) parts.push('aborted');
  return parts.join(' ');
}

/** A sink writing one line per entry to a writable (stderr, a file stream). */
export function lineLogger(write: (line: string) => void): AccessLogSink {
  return (entry) => write(`${formatAccessLog(entry)}\n`);
}
