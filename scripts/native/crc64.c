/*
 * crcsync's CRC-64 kernels in C, for `npm run bench:native` (issue 12 item 3):
 * the WASM core's block hashes and §4 rolling match (core-wasm/assembly/
 * crc64.ts, matcher.ts) ported line for line — same polynomial (0x1B,
 * reflected, init 0, no final xor), same slicing-by-8 tables, same two-chain
 * hashing, same 1024-slot open-addressing block table, same two-lane steady
 * scan — so WASM ÷ native measures the compiler and the runtime, not a
 * different algorithm. Built in the bench run with `cc -O2`.
 *
 *   crc64 hashes N FILE                    N block hashes of FILE, one u64 hex per line
 *   crc64 match N OLD NEW                  "end block length" per match of NEW against OLD's N hashes
 *   crc64 bench-hash MS N FILE             hash FILE repeatedly for >= MS ms: "bytes seconds runs"
 *   crc64 bench-match MS N OLD NEW [...]   match each NEW against its OLD's hashes (hashed untimed), >= MS ms
 *   crc64 count-hash RUNS N FILE           hash exactly RUNS times, untimed (for instruction counts under valgrind)
 *   crc64 count-match RUNS N OLD NEW [...] match exactly RUNS times, untimed
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLY_REFLECTED 0xD800000000000000ULL
#define MAX_BLOCKS 256
#define SLOT_COUNT 1024
#define TWO_CHAIN_MIN_BYTES 128
#define LANE_MIN_BYTES 16384

static uint64_t TABLES[8][256];
static int tables_ready = 0;

static void ensure_tables(void) {
  if (tables_ready) return;
  for (uint32_t i = 0; i < 256; i++) {
    uint64_t crc = i;
    for (int bit = 0; bit < 8; bit++) crc = (crc & 1) ? (crc >> 1) ^ POLY_REFLECTED : crc >> 1;
    TABLES[0][i] = crc;
  }
  for (int k = 1; k < 8; k++)
    for (int i = 0; i < 256; i++) {
      uint64_t previous = TABLES[k - 1][i];
      TABLES[k][i] = (previous >> 8) ^ TABLES[0][previous & 0xFF];
    }
  tables_ready = 1;
}

/* Little-endian load, as WASM's load<u64> (the bench checks the host is little-endian). */
static inline uint64_t load64(const uint8_t *p) {
  uint64_t value;
  memcpy(&value, p, 8);
  return value;
}

static inline uint64_t crc_byte(uint64_t crc, uint32_t byte) {
  return TABLES[0][((uint32_t)crc ^ byte) & 0xFF] ^ (crc >> 8);
}

static inline uint64_t slice8(uint64_t crc, uint64_t word) {
  uint64_t x = crc ^ word;
  return TABLES[7][x & 0xFF] ^ TABLES[6][(x >> 8) & 0xFF] ^ TABLES[5][(x >> 16) & 0xFF] ^ TABLES[4][(x >> 24) & 0xFF] ^
         TABLES[3][(x >> 32) & 0xFF] ^ TABLES[2][(x >> 40) & 0xFF] ^ TABLES[1][(x >> 48) & 0xFF] ^ TABLES[0][x >> 56];
}

static uint64_t crc_update(uint64_t crc, const uint8_t *p, size_t len) {
  const uint8_t *end = p + len;
  const uint8_t *words_end = p + (len & ~(size_t)7);
  while (p < words_end) {
    crc = slice8(crc, load64(p));
    p += 8;
  }
  while (p < end) crc = crc_byte(crc, *p++);
  return crc;
}

static uint64_t pair_second = 0;

/* Two equally long ranges in two independent chains (crc64.ts crcPair). */
static uint64_t crc_pair(const uint8_t *a, const uint8_t *b, size_t len, uint64_t start_a) {
  uint64_t crc_a = start_a, crc_b = 0;
  const uint8_t *words_end = a + (len & ~(size_t)7);
  while (a < words_end) {
    crc_a = slice8(crc_a, load64(a));
    crc_b = slice8(crc_b, load64(b));
    a += 8;
    b += 8;
  }
  const uint8_t *end = a + (len & 7);
  while (a < end) {
    crc_a = crc_byte(crc_a, *a++);
    crc_b = crc_byte(crc_b, *b++);
  }
  pair_second = crc_b;
  return crc_a;
}

#define X_POWER_0 (1ULL << 63)

static uint64_t multiply_mod_p(uint64_t a, uint64_t b) {
  uint64_t product = 0;
  uint64_t mask = X_POWER_0;
  while (mask) {
    if (a & mask) {
      product ^= b;
      if ((a & (mask - 1)) == 0) break;
    }
    mask >>= 1;
    b = (b & 1) ? (b >> 1) ^ POLY_REFLECTED : b >> 1;
  }
  return product;
}

static uint64_t power_of_x_mod_p(uint64_t n) {
  uint64_t result = X_POWER_0, square = X_POWER_0 >> 1;
  while (n) {
    if (n & 1) result = multiply_mod_p(square, result);
    n >>= 1;
    if (n) square = multiply_mod_p(square, square);
  }
  return result;
}

static uint64_t crc_two_chains(const uint8_t *p, size_t len, uint64_t shift_half) {
  size_t half = len >> 1;
  size_t extra = len - 2 * half;
  uint64_t start = extra ? crc_byte(0, p[0]) : 0;
  uint64_t crc_a = crc_pair(p + extra, p + extra + half, half, start);
  return multiply_mod_p(shift_half, crc_a) ^ pair_second;
}

static void fill_removal_table(uint64_t *out, size_t width) {
  uint64_t shift = power_of_x_mod_p((uint64_t)width << 3);
  for (int bit = 0; bit < 8; bit++) out[1u << bit] = multiply_mod_p(shift, TABLES[0][1u << bit]);
  out[0] = 0;
  for (unsigned b = 3; b < 256; b++) {
    unsigned low = b & (~b + 1);
    if (low == b) continue;
    out[b] = out[low] ^ out[b ^ low];
  }
}

/* matcher.ts blockHashes: two blocks at a time, the last takes the remainder. */
static void block_hashes(const uint8_t *p, size_t len, int n, uint64_t *out) {
  ensure_tables();
  size_t size = len / (size_t)n;
  int i = 0;
  for (; i + 1 < n - 1; i += 2) {
    out[i] = crc_pair(p + (size_t)i * size, p + (size_t)(i + 1) * size, size, 0);
    out[i + 1] = pair_second;
  }
  for (; i < n - 1; i++) out[i] = crc_update(0, p + (size_t)i * size, size);
  size_t last = (size_t)(n - 1) * size;
  out[n - 1] = crc_update(0, p + last, len - last);
}

/* ---- the rolling matcher (matcher.ts), state in globals as in the WASM module ---- */

static uint64_t slot_keys[SLOT_COUNT];
static int32_t slot_values[SLOT_COUNT];
static uint64_t remove_normal[256], remove_tail[256];
static int block_count;
static size_t block_size, tail_size;
static int has_tail;
static uint64_t tail_hash, skip_shift_half;
static uint64_t crc_normal, crc_tail;
static size_t since_match;

static inline size_t slot_of(uint64_t hash) { return (size_t)hash & (SLOT_COUNT - 1); }

static int32_t probe(uint64_t hash) {
  size_t slot = slot_of(hash);
  for (;;) {
    int32_t value = slot_values[slot];
    if (value == 0 || slot_keys[slot] == hash) return value;
    slot = (slot + 1) & (SLOT_COUNT - 1);
  }
}

static inline int32_t lookup(uint64_t hash) { return slot_values[slot_of(hash)] ? probe(hash) : 0; }

static void insert(uint64_t hash, int index) {
  size_t slot = slot_of(hash);
  for (;;) {
    int32_t value = slot_values[slot];
    if (value == 0 || slot_keys[slot] == hash) {
      slot_keys[slot] = hash;
      slot_values[slot] = index + 1;
      return;
    }
    slot = (slot + 1) & (SLOT_COUNT - 1);
  }
}

static int matcher_reset(const uint64_t *hashes, int n, size_t file_size) {
  if (n < 1 || n > MAX_BLOCKS || file_size < (size_t)n) return -1;
  ensure_tables();
  block_count = n;
  block_size = file_size / (size_t)n;
  tail_size = block_size + file_size % (size_t)n;
  has_tail = tail_size != block_size;
  tail_hash = hashes[n - 1];
  memset(slot_values, 0, sizeof slot_values);
  int normal_blocks = has_tail ? n - 1 : n;
  for (int i = 0; i < normal_blocks; i++) insert(hashes[i], i);
  size_t skip = block_size - 1;
  skip_shift_half = power_of_x_mod_p((uint64_t)(skip >> 1) << 3);
  fill_removal_table(remove_normal, block_size);
  if (has_tail) fill_removal_table(remove_tail, tail_size);
  crc_normal = crc_tail = 0;
  since_match = 0;
  return 0;
}

static uint64_t steady_normal, steady_tail;
static int steady_found = -1;

static inline uint64_t roll(uint64_t crc, uint32_t incoming, uint64_t removal) {
  return TABLES[0][((uint32_t)crc ^ incoming) & 0xFF] ^ ((crc >> 8) ^ removal);
}

static const uint8_t *scan_one_lane(const uint8_t *p, const uint8_t *end) {
  uint64_t normal = steady_normal, tail = steady_tail;
  const uint8_t *out_normal = p - block_size;
  int found = -1;
  if (has_tail) {
    uint64_t tail_value = tail_hash;
    const uint8_t *out_tail = p - tail_size;
    while (p < end) {
      uint32_t incoming = *p;
      normal = roll(normal, incoming, remove_normal[*out_normal]);
      tail = roll(tail, incoming, remove_tail[*out_tail]);
      p++;
      out_normal++;
      out_tail++;
      int32_t hit = lookup(normal);
      if (hit) { found = hit - 1; break; }
      if (tail == tail_value) { found = block_count - 1; break; }
    }
  } else {
    while (p < end) {
      uint32_t incoming = *p;
      normal = roll(normal, incoming, remove_normal[*out_normal]);
      p++;
      out_normal++;
      int32_t hit = lookup(normal);
      if (hit) { found = hit - 1; break; }
    }
  }
  steady_normal = normal;
  steady_tail = tail;
  steady_found = found;
  return p;
}

static inline const uint8_t *stop_at(const uint8_t *p, uint64_t normal, uint64_t tail, int found) {
  steady_normal = normal;
  steady_tail = tail;
  steady_found = found;
  return p;
}

static const uint8_t *scan_two_lanes(const uint8_t *p, const uint8_t *end) {
  size_t block_length = block_size, tail_length = tail_size;
  uint64_t tail_value = tail_hash;
  const uint8_t *mid = p + ((size_t)(end - p) >> 1);
  uint64_t normal = steady_normal, tail = steady_tail;
  const uint8_t *second = mid;
  uint64_t second_normal = crc_update(0, mid - block_length, block_length);
  uint64_t second_tail = crc_update(0, mid - tail_length, tail_length);
  int second_matched = 0;
  while (p < mid) {
    uint32_t incoming = *p, second_incoming = *second;
    normal = roll(normal, incoming, remove_normal[*(p - block_length)]);
    second_normal = roll(second_normal, second_incoming, remove_normal[*(second - block_length)]);
    tail = roll(tail, incoming, remove_tail[*(p - tail_length)]);
    second_tail = roll(second_tail, second_incoming, remove_tail[*(second - tail_length)]);
    p++;
    second++;
    if (slot_values[slot_of(normal)] | slot_values[slot_of(second_normal)]) {
      int32_t hit = probe(normal);
      if (hit) return stop_at(p, normal, tail, hit - 1);
      if (tail == tail_value) return stop_at(p, normal, tail, block_count - 1);
      if (probe(second_normal)) {
        second_matched = 1;
        break;
      }
    }
    if (tail == tail_value) return stop_at(p, normal, tail, block_count - 1);
    if (second_tail == tail_value) {
      second_matched = 1;
      break;
    }
  }
  if (second_matched) {
    steady_normal = normal;
    steady_tail = tail;
    const uint8_t *stopped = scan_one_lane(p, mid);
    if (steady_found >= 0) return stopped;
    int32_t hit = probe(second_normal);
    return stop_at(second, second_normal, second_tail, hit ? hit - 1 : block_count - 1);
  }
  steady_normal = second_normal;
  steady_tail = second_tail;
  return scan_one_lane(second, end);
}

/* matcher.ts scan over [begin, end) (the whole input is in memory, so windows reach back into it); returns bytes consumed, *found = block or -1. */
static size_t scan(const uint8_t *begin, const uint8_t *end, int *found_out) {
  size_t block_length = block_size, tail_length = tail_size;
  int check_tail = has_tail;
  uint64_t tail_value = tail_hash;
  const uint8_t *p = begin;
  uint64_t normal = crc_normal, tail = crc_tail;
  size_t count = since_match;
  int found = -1;
  while (p < end) {
    if (count == 0 && block_length > 1 && (size_t)(end - p) >= block_length - 1) {
      normal = block_length - 1 >= TWO_CHAIN_MIN_BYTES ? crc_two_chains(p, block_length - 1, skip_shift_half) : crc_update(0, p, block_length - 1);
      tail = normal;
      count = block_length - 1;
      p += block_length - 1;
      continue;
    }
    if (count > tail_length) {
      steady_normal = normal;
      steady_tail = tail;
      const uint8_t *warmup_end = p + 4 * (block_length + tail_length) < end ? p + 4 * (block_length + tail_length) : end;
      p = scan_one_lane(p, warmup_end);
      if (steady_found < 0 && p < end)
        p = check_tail && (size_t)(end - p) >= LANE_MIN_BYTES + 8 * tail_length ? scan_two_lanes(p, end) : scan_one_lane(p, end);
      normal = steady_normal;
      tail = steady_tail;
      found = steady_found;
      break;
    }
    uint32_t incoming = *p;
    normal = crc_byte(normal, incoming);
    tail = crc_byte(tail, incoming);
    count++;
    if (count > block_length) normal ^= remove_normal[*(p - block_length)];
    if (count > tail_length) tail ^= remove_tail[*(p - tail_length)];
    p++;
    if (count >= block_length) {
      int32_t hit = lookup(normal);
      if (hit) { found = hit - 1; break; }
    }
    if (check_tail && count >= tail_length && tail == tail_value) { found = block_count - 1; break; }
  }
  if (found >= 0) {
    normal = tail = 0;
    count = 0;
  }
  crc_normal = normal;
  crc_tail = tail;
  since_match = count;
  *found_out = found;
  return (size_t)(p - begin);
}

typedef void (*match_listener)(size_t end, int block, size_t length, void *context);

/* Resets and matches a whole body; calls listener per match; returns matches. */
static size_t match_all(const uint64_t *hashes, int n, size_t file_size, const uint8_t *body, size_t len, match_listener listener, void *context) {
  if (matcher_reset(hashes, n, file_size) != 0) return 0;
  size_t position = 0, matches = 0;
  while (position < len) {
    int found;
    position += scan(body + position, body + len, &found);
    if (found >= 0) {
      matches++;
      if (listener) listener(position, found, found == block_count - 1 ? tail_size : block_size, context);
    }
  }
  return matches;
}

/* ---- command line ---- */

typedef struct {
  uint8_t *bytes;
  size_t length;
} buffer_t;

static buffer_t read_file(const char *path) {
  FILE *file = fopen(path, "rb");
  if (!file) {
    fprintf(stderr, "crc64: cannot open %s\n", path);
    exit(2);
  }
  fseek(file, 0, SEEK_END);
  long length = ftell(file);
  fseek(file, 0, SEEK_SET);
  buffer_t buffer = {malloc((size_t)length + 8), (size_t)length};
  if (!buffer.bytes || fread(buffer.bytes, 1, (size_t)length, file) != (size_t)length) {
    fprintf(stderr, "crc64: cannot read %s\n", path);
    exit(2);
  }
  fclose(file);
  return buffer;
}

static double now_seconds(void) {
  struct timespec time;
  clock_gettime(CLOCK_MONOTONIC, &time);
  return (double)time.tv_sec + (double)time.tv_nsec / 1e9;
}

static void print_match(size_t end, int block, size_t length, void *context) {
  (void)context;
  printf("%zu %d %zu\n", end, block, length);
}

/* Keeps the optimiser from dropping timed work whose result is otherwise unused. */
static volatile uint64_t sink;

static int parse_count(const char *text) {
  int n = atoi(text);
  if (n < 1 || n > MAX_BLOCKS) {
    fprintf(stderr, "crc64: block count %s outside 1..256\n", text);
    exit(2);
  }
  return n;
}

int main(int argc, char **argv) {
  uint16_t probe_endian = 1;
  if (*(uint8_t *)&probe_endian != 1) {
    fprintf(stderr, "crc64: big-endian host: the kernels assume little-endian loads as WASM does\n");
    return 3;
  }
  ensure_tables();
  if (argc == 4 && strcmp(argv[1], "hashes") == 0) {
    int n = parse_count(argv[2]);
    buffer_t file = read_file(argv[3]);
    if (file.length < (size_t)n) return 2;
    uint64_t out[MAX_BLOCKS];
    block_hashes(file.bytes, file.length, n, out);
    for (int i = 0; i < n; i++) printf("%016llx\n", (unsigned long long)out[i]);
    return 0;
  }
  if (argc == 5 && strcmp(argv[1], "match") == 0) {
    int n = parse_count(argv[2]);
    buffer_t old = read_file(argv[3]), body = read_file(argv[4]);
    if (old.length < (size_t)n) return 2;
    uint64_t hashes[MAX_BLOCKS];
    block_hashes(old.bytes, old.length, n, hashes);
    match_all(hashes, n, old.length, body.bytes, body.length, print_match, NULL);
    return 0;
  }
  /* count-*: a fixed number of runs; bench-*: at least MS ms of runs, timed. */
  int counted = strncmp(argv[1] ? argv[1] : "", "count-", 6) == 0;
  if (argc == 5 && (strcmp(argv[1], "bench-hash") == 0 || strcmp(argv[1], "count-hash") == 0)) {
    double min_seconds = counted ? 0 : atof(argv[2]) / 1000;
    long wanted_runs = counted ? atol(argv[2]) : 0;
    int n = parse_count(argv[3]);
    buffer_t file = read_file(argv[4]);
    uint64_t out[MAX_BLOCKS];
    if (!counted) block_hashes(file.bytes, file.length, n, out); /* warm up */
    double start = now_seconds(), elapsed = 0;
    long runs = 0;
    while (counted ? runs < wanted_runs : runs == 0 || elapsed < min_seconds) {
      block_hashes(file.bytes, file.length, n, out);
      sink ^= out[0];
      runs++;
      elapsed = now_seconds() - start;
    }
    printf("%zu %.9f %ld\n", file.length * (size_t)runs, elapsed, runs);
    return 0;
  }
  if (argc >= 6 && (argc - 4) % 2 == 0 && (strcmp(argv[1], "bench-match") == 0 || strcmp(argv[1], "count-match") == 0)) {
    double min_seconds = counted ? 0 : atof(argv[2]) / 1000;
    long wanted_runs = counted ? atol(argv[2]) : 0;
    int n = parse_count(argv[3]);
    int pairs = (argc - 4) / 2;
    buffer_t *olds = calloc((size_t)pairs, sizeof(buffer_t)), *bodies = calloc((size_t)pairs, sizeof(buffer_t));
    uint64_t(*hashes)[MAX_BLOCKS] = calloc((size_t)pairs, sizeof *hashes);
    size_t bytes_per_run = 0;
    for (int i = 0; i < pairs; i++) {
      olds[i] = read_file(argv[4 + 2 * i]);
      bodies[i] = read_file(argv[5 + 2 * i]);
      if (olds[i].length < (size_t)n) return 2;
      block_hashes(olds[i].bytes, olds[i].length, n, hashes[i]);
      bytes_per_run += bodies[i].length;
    }
    if (!counted)
      for (int i = 0; i < pairs; i++) sink ^= match_all(hashes[i], n, olds[i].length, bodies[i].bytes, bodies[i].length, NULL, NULL); /* warm up */
    double start = now_seconds(), elapsed = 0;
    long runs = 0;
    while (counted ? runs < wanted_runs : runs == 0 || elapsed < min_seconds) {
      for (int i = 0; i < pairs; i++) sink ^= match_all(hashes[i], n, olds[i].length, bodies[i].bytes, bodies[i].length, NULL, NULL);
      runs++;
      elapsed = now_seconds() - start;
    }
    printf("%zu %.9f %ld\n", bytes_per_run * (size_t)runs, elapsed, runs);
    return 0;
  }
  fprintf(stderr, "usage: crc64 hashes N FILE | match N OLD NEW | bench-hash MS N FILE | bench-match MS N OLD NEW [OLD NEW ...] | count-hash RUNS N FILE | count-match RUNS N OLD NEW [...]\n");
  return 2;
}
