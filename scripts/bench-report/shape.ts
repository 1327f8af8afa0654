// Strict reading of the benches' JSON: each reader takes only the fields the
// report uses and checks their types, naming the file and the field path when
// one is missing or of another type. The report never fills a gap with a
// guess; a file it cannot read is reported as "not usable", with this reason.

export class ResultShapeError extends Error {
  constructor(
    readonly file: string,
    readonly path: string,
    readonly expected: string,
    got: unknown,
  ) {
    super(`${file}: ${path || '(top level)'}: expected ${expected}, got ${describe(got)}`);
    this.name = 'ResultShapeError';
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (field missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value).slice(0, 40)}`;
}

/** A position in one file's JSON, for reading fields with their path in every error. */
export class Field {
  constructor(
    readonly file: string,
    readonly path: string,
    readonly value: unknown,
  ) {}

  private fail(expected: string): never {
    throw new ResultShapeError(this.file, this.path, expected, this.value);
  }

  get(name: string): Field {
    const object = this.object();
    return new Field(this.file, this.path ? `${this.path}.${name}` : name, object[name]);
  }

  has(name: string): boolean {
    return this.object()[name] !== undefined;
  }

  object(): Record<string, unknown> {
    if (typeof this.value !== 'object' || this.value === null || Array.isArray(this.value)) this.fail('an object');
    return this.value as Record<string, unknown>;
  }

  entries(): Array<[string, Field]> {
    return Object.keys(this.object()).map((key) => [key, this.get(key)]);
  }

  array(): Field[] {
    if (!Array.isArray(this.value)) this.fail('an array');
    return (this.value as unknown[]).map((item, index) => new Field(this.file, `${this.path}[${index}]`, item));
  }

  number(): number {
    if (typeof this.value !== 'number' || !Number.isFinite(this.value)) this.fail('a finite number');
    return this.value as number;
  }

  string(): string {
    if (typeof this.value !== 'string') this.fail('a string');
    return this.value as string;
  }

  boolean(): boolean {
    if (typeof this.value !== 'boolean') this.fail('true or false');
    return this.value as boolean;
  }

  oneOf<T extends string>(choices: readonly T[]): T {
    if (!choices.includes(this.value as T)) this.fail(`one of ${choices.join(', ')}`);
    return this.value as T;
  }

  /** Null (or absent) stays null; anything else goes through `read`. */
  nullable<T>(read: (field: Field) => T): T | null {
    return this.value === null || this.value === undefined ? null : read(this);
  }
}

/** The root of a parsed file. */
export function rootOf(file: string, text: string): Field {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ResultShapeError(file, '', 'JSON', `unparsable text (${(error as Error).message})`);
  }
  return new Field(file, '', parsed);
}
