#include "kernels/deflate/geometry_encoder.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "kernels/deflate/bit_writer.hpp"
#include "kernels/deflate/block_writer.hpp"
#include "kernels/deflate/deflate_tables.hpp"
#include "kernels/deflate/row_deflate.hpp"

namespace ohlc::deflate {

namespace {

// The tokenizer's helpers take its state by reference; inlined, the state stays in registers
// (one out-of-line call would put all of it in memory, a load or store per field access).
#define OHLC_INLINE __attribute__((always_inline)) inline

// Tokens per block, as the row encoder: 64 KiB of scratch; a bar image needs a few thousand.
constexpr size_t kBlockTokens = 16384;
// A match shorter than this costs more bits than its bytes as literals (a measured optimum:
// literals of such images cost 2-4 bits, a match with a row distance 12 or more).
constexpr uint64_t kShortestMatch = 5;
constexpr uint64_t kNone = ~uint64_t{0};

// The two pixel values as bytes, and which bytes of a pixel differ between them.
struct PixelBytes {
  uint8_t bg[4];
  uint8_t ink[4];
  unsigned size;
  unsigned first_diff;
  unsigned last_diff;
};

PixelBytes pixel_bytes_of(PixelType type, InkPolarity polarity) {
  // Little-endian float32 1.0f = 00 00 80 3F, 0.0f = 00 00 00 00.
  if (polarity == InkPolarity::kDarkOnLight) {
    if (type == PixelType::U8) return {{1}, {0}, 1, 0, 0};
    return {{0x00, 0x00, 0x80, 0x3F}, {0, 0, 0, 0}, 4, 2, 3};
  }
  if (type == PixelType::U8) return {{0}, {255}, 1, 0, 0};
  return {{0, 0, 0, 0}, {0x00, 0x00, 0x80, 0x3F}, 4, 2, 3};
}

// The tokenizer walks the virtual byte stream of the image (row-major, 2^kShift bytes a pixel)
// and at every token takes the longest of these copies, capped at one match (258 bytes), the
// cheaper on a tie (in this order):
//   pixel   one pixel back, through background: after a row's last ink on into the next rows up
//           to the next ink, before a row's first ink, and between inks;
//   period  one bar back (`period` pixels), inside a row's ink extent: dense rows repeat per bar;
//   row     one row back: up to the next changed pixel;
//   two     two rows back: a tick, or a line end that undoes the previous row's change, is free.
// A run shorter than kShortestMatch goes as literals.
//
// Per row (on entering it) the row's pixels are brought up to date in a bitset and its regions
// are turned into byte bounds; the row copies keep a cursor into the changes. Each copy caches
// [end, resume): its run from p reaches end (p < end) or it has none; it is looked at again only
// once p reaches resume. Rows must be at most 32 KiB (DEFLATE's window); the caller falls back
// beyond.
template <unsigned kShift>
class Tokenizer {
 public:
  static constexpr uint64_t kPixel = uint64_t{1} << kShift;

  Tokenizer(const InkChanges& m, const PixelBytes& px, uint32_t period, uint64_t* row_bits) {
    State& s = s_;
    s.ch = m.changes();
    s.nch = m.change_count();
    s.first = m.first_ink();
    s.last = m.last_ink();
    s.next_inked = m.next_inked_row();
    s.width = m.width();
    s.height = m.height();
    s.row_bytes = uint64_t{m.width()} << kShift;
    s.pixels = uint64_t{m.width()} * m.height();
    s.size = s.pixels << kShift;
    s.first_diff = px.first_diff;
    s.last_diff = px.last_diff;
    s.words = (size_t{s.width} + 63) >> 6;
    s.use_two_rows = 2 * s.row_bytes <= kMaxDistance;
    s.period = period > 1 && period < s.width && period < 64 ? period : 0;
    s.bits = row_bits;
    s.bg = px.bg;
    s.ink = px.ink;
    std::memset(row_bits, 0, s.words * sizeof(uint64_t));
    s.sym_pixel = static_cast<uint32_t>(dist_symbol(static_cast<uint32_t>(kPixel - 1)));
    s.sym_row = static_cast<uint32_t>(dist_symbol(static_cast<uint32_t>(s.row_bytes - 1)));
    s.sym_two = s.use_two_rows ? static_cast<uint32_t>(dist_symbol(static_cast<uint32_t>(2 * s.row_bytes - 1))) : 0;
    s.sym_period = s.period ? static_cast<uint32_t>(dist_symbol(static_cast<uint32_t>((s.period << kShift) - 1))) : 0;
    // Nothing to copy from before the first row (two rows) are out.
    s.end_row = 0;
    s.resume_row = s.row_bytes;
    s.end_two = 0;
    s.resume_two = s.use_two_rows ? 2 * s.row_bytes : kNone;
    // The first break; looked at from two rows on.
    s.two_rows_break = merge_two_rows(s.ch, s.nch, s.width, s.pixels, s.ia, s.ib);
    s.next_row_start = s.row_bytes;
    for (; s.synced < s.nch && s.ch[s.synced].row == 0; ++s.synced) {
      const uint32_t c = s.ch[s.synced].column();
      s.bits[c >> 6] ^= uint64_t{1} << (c & 63);
    }
    const RowBounds rb = row_bounds(s, 0, 0);
    s.a_begin = rb.a_begin;
    s.a_end = rb.a_end;
    s.b_begin = rb.b_begin;
    s.b_end = rb.b_end;
    s.in_lo = rb.in_lo;
    s.in_hi = rb.in_hi;
    s.per_lo = rb.per_lo;
    s.per_hi = rb.per_hi;
  }

  uint64_t position() const { return s_.p; }

  // The distance of each token kind, as write_huffman_block_kinds takes them.
  void distances(uint32_t* d) const {
    d[0] = static_cast<uint32_t>(kPixel);
    d[1] = s_.period ? static_cast<uint32_t>(s_.period << kShift) : d[0];
    d[2] = static_cast<uint32_t>(s_.row_bytes);
    d[3] = s_.use_two_rows ? static_cast<uint32_t>(2 * s_.row_bytes) : d[0];
  }
  bool done() const { return s_.p >= s_.size; }

  // Tokens from the current position until the end or `max_tokens`; resets and fills `stats`
  // (every token plus the end of block).
  //
  // Everything the loop touches per token is a local (the helpers are lambdas over them): a
  // value whose address never escapes stays in a register, where a struct member would be
  // reloaded after every store through `tokens` or `stats`.
  size_t next_block(uint16_t* tokens, size_t max_tokens, BlockStats& stats, uint64_t* used) {
    std::memset(&stats, 0, sizeof stats);
    std::memset(used, 0, 4 * kMaxTokenKinds * sizeof(uint64_t));
    const State& k = s_;
    const InkChange* const ch = k.ch;
    const size_t nch = k.nch;
    const uint64_t size = k.size, row_bytes = k.row_bytes, width = k.width, pixels = k.pixels;
    const uint64_t first_diff = k.first_diff, last_diff = k.last_diff;
    uint64_t* const bits = k.bits;
    uint64_t p = k.p, row = k.row, row_start = k.row_start, next_row_start = k.next_row_start;
    size_t synced = k.synced, ir = k.ir, ia = k.ia, ib = k.ib;
    uint64_t two_rows_break = k.two_rows_break;
    uint64_t end_row = k.end_row, resume_row = k.resume_row;
    uint64_t end_two = k.end_two, resume_two = k.resume_two;
    uint64_t a_begin = k.a_begin, a_end = k.a_end, b_begin = k.b_begin, b_end = k.b_end;
    uint64_t in_lo = k.in_lo, in_hi = k.in_hi, per_lo = k.per_lo, per_hi = k.per_hi;
    uint64_t end_interior = k.end_interior, resume_interior = k.resume_interior;
    uint64_t end_period = k.end_period, resume_period = k.resume_period;
    // Token kinds (see distances()).
    constexpr int pixel_dist = 0, period_dist = 1, row_dist = 2, two_dist = 3;
    const uint32_t syms[4] = {k.sym_pixel, k.sym_period, k.sym_row, k.sym_two};

    auto bit = [&](uint64_t c) { return (bits[c >> 6] >> (c & 63)) & 1; };
    auto enter_row = [&] {
      do {
        row_start = next_row_start;
        next_row_start += row_bytes;
        ++row;
      } while (p >= next_row_start);
      for (; synced < nch && ch[synced].row <= row; ++synced) {
        const uint32_t c = ch[synced].column();
        bits[c >> 6] ^= uint64_t{1} << (c & 63);
      }
      const RowBounds rb = row_bounds(k, row, row_start);
      a_begin = rb.a_begin;
      a_end = rb.a_end;
      b_begin = rb.b_begin;
      b_end = rb.b_end;
      in_lo = rb.in_lo;
      in_hi = rb.in_hi;
      per_lo = rb.per_lo;
      per_hi = rb.per_hi;
    };
    // One row back: up to the next changed pixel's first differing byte.
    auto next_row_break = [&] {
      while (ir < nch && (ch[ir].pixel << kShift) + last_diff < p) ++ir;
      if (ir == nch) {
        end_row = size;
        resume_row = kNone;
      } else {
        const uint64_t at = ch[ir].pixel << kShift;
        end_row = at + first_diff;
        resume_row = at + last_diff + 1;
      }
    };
    // Two rows back: a pixel differs from the one two rows up when exactly one of it and the
    // pixel above it changed (two flips cancel): the changes merged with themselves one row on.
    auto next_two_rows_break = [&] {
      while (two_rows_break != kNone && (two_rows_break << kShift) + last_diff < p)
        two_rows_break = merge_two_rows(ch, nch, width, pixels, ia, ib);
      if (two_rows_break == kNone) {
        end_two = size;
        resume_two = kNone;
      } else {
        const uint64_t at = two_rows_break << kShift;
        end_two = at + first_diff;
        resume_two = at + last_diff + 1;
      }
    };

    size_t n = 0;
    while (p < size && n < max_tokens) {
      if (p >= next_row_start) enter_row();
      if (p >= resume_row) next_row_break();
      if (p >= resume_two) next_two_rows_break();
      // Each copy's run (0: none) and, to pick one without branches, a key: the run capped at
      // one match, then the kind's rank (on a tie the cheaper distance, the lower kind, wins).
      uint64_t runs[4];
      const uint64_t in_a = p - a_begin < a_end - a_begin ? a_end - p : 0;
      const uint64_t in_b = p - b_begin < b_end - b_begin ? b_end - p : 0;
      runs[pixel_dist] = in_a | in_b;  // the regions are disjoint
      runs[period_dist] = 0;
      if (p - in_lo < in_hi - in_lo) {
        // Between inks, and one bar back: they need the row's pixels.
        const uint64_t c = (p - row_start) >> kShift;
        if (p >= resume_interior) {
          if (bit(c) || bit(c - 1)) {  // on ink or just after it (c > first ink unless on it)
            end_interior = 0;
            resume_interior = row_start + ((next_pixel(k, c, false) + 1) << kShift);
          } else {  // up to the next ink, short of the last one
            end_interior = row_start + (next_pixel(k, c + 1, true) << kShift) + first_diff;
            resume_interior = end_interior;
          }
        }
        runs[pixel_dist] = p < end_interior ? end_interior - p : 0;
        if (p - per_lo < per_hi - per_lo) {
          if (p >= resume_period) {
            const uint64_t y = next_period_break(k, c);
            if (y == c) {
              end_period = 0;
              resume_period = row_start + ((c + 1) << kShift);
            } else {
              end_period = y < width ? row_start + (y << kShift) + first_diff : next_row_start;
              resume_period = end_period;
            }
          }
          runs[period_dist] = p < end_period ? end_period - p : 0;
        }
      }
      runs[row_dist] = p < end_row ? end_row - p : 0;
      runs[two_dist] = p < end_two ? end_two - p : 0;
      auto key = [&](int kind) {  // (a value, not std::min's reference: it stays a cmov)
        const uint64_t r = runs[kind];
        return ((r > kMaxMatch ? uint64_t{kMaxMatch} : r) << 2) | static_cast<uint64_t>(3 - kind);
      };
      const uint64_t top = std::max(std::max(key(0), key(1)), std::max(key(2), key(3)));
      const uint64_t best = top >> 2;
      const int dist = 3 - static_cast<int>(top & 3);
      const uint64_t run = runs[dist];
      const uint32_t sym = syms[dist];
      if (best < kShortestMatch) {
        const uint64_t offset = p - row_start;
        const uint64_t c = offset >> kShift;
        const uint8_t b = (bit(c) ? k.ink : k.bg)[offset & (kPixel - 1)];
        tokens[n++] = b;
        ++stats.litlen[b];
        ++p;
        continue;
      }
      // 259 and 260 leave a tail under 3: split them as (run - 3) + 3.
      const uint32_t piece = static_cast<uint32_t>(
          run >= kMaxMatch + kMinMatch ? kMaxMatch : (run > kMaxMatch ? run - kMinMatch : run));
      tokens[n++] = kind_token(dist, piece);
      used[4 * dist + ((piece - 3) >> 6)] |= uint64_t{1} << ((piece - 3) & 63);
      ++stats.litlen[257 + kLengthIndex[piece - 3]];
      ++stats.dist[sym];
      p += piece;
    }
    stats.litlen[kEndOfBlock] = 1;

    State& out = s_;
    out.p = p;
    out.row = row;
    out.row_start = row_start;
    out.next_row_start = next_row_start;
    out.synced = synced;
    out.ir = ir;
    out.ia = ia;
    out.ib = ib;
    out.two_rows_break = two_rows_break;
    out.end_row = end_row;
    out.resume_row = resume_row;
    out.end_two = end_two;
    out.resume_two = resume_two;
    out.a_begin = a_begin;
    out.a_end = a_end;
    out.b_begin = b_begin;
    out.b_end = b_end;
    out.in_lo = in_lo;
    out.in_hi = in_hi;
    out.per_lo = per_lo;
    out.per_hi = per_hi;
    out.end_interior = end_interior;
    out.resume_interior = resume_interior;
    out.end_period = end_period;
    out.resume_period = resume_period;
    return n;
  }

 private:
  struct State {
    const InkChange* ch;
    size_t nch;
    const int32_t* first;
    const int32_t* last;
    const uint32_t* next_inked;
    uint64_t width, height, row_bytes, pixels, size, first_diff, last_diff;
    size_t words;
    bool use_two_rows;
    uint64_t period;  // pixels; 0: none
    uint64_t* bits;   // the current row's pixels
    const uint8_t* bg;
    const uint8_t* ink;
    uint32_t sym_pixel, sym_period, sym_row, sym_two;

    uint64_t p = 0;
    uint64_t row = 0, row_start = 0, next_row_start = 0;
    size_t synced = 0;  // changes [0, synced) are in `bits`
    // The current row's regions, in bytes: pixel copies in [a_begin, a_end) and
    // [b_begin, b_end); the extent (interior pixel copies) [in_lo, in_hi); period copies
    // [per_lo, per_hi).
    uint64_t a_begin = 0, a_end = 0, b_begin = 0, b_end = 0, in_lo = 0, in_hi = 0;
    uint64_t per_lo = 0, per_hi = 0;
    size_t ir = 0;
    uint64_t end_row, resume_row;
    size_t ia = 0, ib = 0;
    uint64_t two_rows_break = kNone;
    uint64_t end_two, resume_two;
    uint64_t end_interior = 0, resume_interior = 0;
    uint64_t end_period = 0, resume_period = 0;
  };

  struct RowBounds {
    uint64_t a_begin, a_end, b_begin, b_end, in_lo, in_hi, per_lo, per_hi;
  };

  // A row's regions in bytes (see State).
  static RowBounds row_bounds(const State& s, uint64_t row, uint64_t row_start) {
    RowBounds b{};
    const int64_t f = s.first[row], l = s.last[row];
    // A copy one pixel back can start at the row's first pixel when the row above ends blank.
    const uint64_t from =
        row_start + (row > 0 && s.last[row - 1] < static_cast<int64_t>(s.width) - 1 ? 0 : kPixel);
    const uint32_t nr = s.next_inked[row];
    const uint64_t next_ink =
        nr < s.height
            ? ((uint64_t{nr} * s.width + static_cast<uint64_t>(s.first[nr])) << kShift) + s.first_diff
            : s.size;
    if (l < 0) {  // blank: all of it, on into the rows below
      b.b_begin = from;
      b.b_end = next_ink;
      return b;
    }
    b.a_end = row_start + (static_cast<uint64_t>(f) << kShift) + s.first_diff;
    b.b_begin = row_start + (static_cast<uint64_t>(l + 2) << kShift);
    b.b_end = next_ink;
    // Either may be empty (ink in the first pixel, or in the last with more right below).
    b.a_begin = std::min(from, b.a_end);
    b.b_begin = std::min(b.b_begin, b.b_end);
    b.in_lo = row_start + (static_cast<uint64_t>(f) << kShift);
    b.in_hi = row_start + (static_cast<uint64_t>(l + 1) << kShift);
    if (s.period) {
      b.per_lo = row_start + (std::max<uint64_t>(static_cast<uint64_t>(f), s.period) << kShift);
      b.per_hi = row_start + (std::min<uint64_t>(static_cast<uint64_t>(l) + s.period + 1, s.width) << kShift);
    }
    return b;
  }

  // The next pixel where the picture differs from two rows up, from cursors ia, ib into the
  // changes (as themselves, and one row on); kNone when none is left.
  OHLC_INLINE static uint64_t merge_two_rows(const InkChange* ch, size_t nch, uint64_t width,
                                             uint64_t pixels, size_t& ia, size_t& ib) {
    for (;;) {
      const uint64_t a = ia < nch ? ch[ia].pixel : kNone;
      const uint64_t b = ib < nch ? ch[ib].pixel + width : kNone;
      if (a == b) {
        if (a == kNone) return kNone;
        ++ia;
        ++ib;
        continue;
      }
      uint64_t at;
      if (a < b) {
        at = a;
        ++ia;
      } else {
        at = b;
        ++ib;
      }
      return at < pixels ? at : kNone;
    }
  }

  // Lowest pixel >= from whose bit is set (want = 1) or clear (want = 0); width when none.
  OHLC_INLINE static uint64_t next_pixel(const State& s, uint64_t from, bool want) {
    if (from >= s.width) return s.width;
    const uint64_t flip = want ? 0 : ~uint64_t{0};
    size_t w = from >> 6;
    uint64_t word = (s.bits[w] ^ flip) & (~uint64_t{0} << (from & 63));
    while (!word) {
      if (++w == s.words) return s.width;
      word = s.bits[w] ^ flip;
    }
    return std::min<uint64_t>((w << 6) + static_cast<uint64_t>(__builtin_ctzll(word)), s.width);
  }

  // First pixel y >= c whose value differs from pixel y - period (c >= period); width if none.
  OHLC_INLINE static uint64_t next_period_break(const State& s, uint64_t c) {
    const unsigned k = static_cast<unsigned>(s.period);
    size_t w = c >> 6;
    auto diff = [&](size_t i) {
      const uint64_t shifted = (s.bits[i] << k) | (i ? s.bits[i - 1] >> (64 - k) : 0);
      return s.bits[i] ^ shifted;
    };
    uint64_t x = diff(w) & (~uint64_t{0} << (c & 63));
    while (!x) {
      if (++w == s.words) return s.width;
      x = diff(w);
    }
    return std::min<uint64_t>((w << 6) + static_cast<uint64_t>(__builtin_ctzll(x)), s.width);
  }

  State s_;
};

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void put_le32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

constexpr int64_t kAdlerMod = 65521;

int64_t mod_adler(__int128 v) {
  const int64_t r = static_cast<int64_t>(v % kAdlerMod);
  return r < 0 ? r + kAdlerMod : r;
}

}  // namespace

GeometryEncoder::GeometryEncoder() : tokens_(new uint16_t[kBlockTokens]), stats_{} {}
GeometryEncoder::~GeometryEncoder() = default;

void GeometryEncoder::set_type(PixelType type, InkPolarity polarity) {
  type_ = type;
  polarity_ = polarity;
  raw_size_ = uint64_t{changes_.width()} * changes_.height() * pixel_bytes(type);
}

void GeometryEncoder::set_bars(const BarRows* bars, ImageShape shape, PixelType type) {
  if (type != PixelType::U8 && type != PixelType::F32)
    throw std::invalid_argument("GeometryEncoder: unknown pixel type");
  changes_.build_bars(bars, shape.seq_len, shape.height);
  set_type(type, InkPolarity::kDarkOnLight);
  period_ = 4;
}

void GeometryEncoder::set_runs(const InkRun* runs, size_t count, uint32_t width,
                               uint32_t height, PixelType type, uint32_t period,
                               InkPolarity polarity) {
  if (type != PixelType::U8 && type != PixelType::F32)
    throw std::invalid_argument("GeometryEncoder: unknown pixel type");
  changes_.build(runs, count, width, height);
  set_type(type, polarity);
  period_ = period;
}

void GeometryEncoder::render(uint8_t* out) const {
  const PixelBytes px = pixel_bytes_of(type_, polarity_);
  if (px.size == 1) {
    changes_.render(px.bg[0], px.ink[0], out);
    return;
  }
  const_cast<std::vector<uint8_t>&>(mask_).resize(uint64_t{changes_.width()} * changes_.height());
  changes_.render(1, 0, const_cast<uint8_t*>(mask_.data()));
  for (size_t i = 0; i < mask_.size(); ++i)
    std::memcpy(out + 4 * i, mask_[i] ? px.bg : px.ink, 4);
}

void GeometryEncoder::encode(bool final, std::vector<uint8_t>& out) {
  const PixelBytes px = pixel_bytes_of(type_, polarity_);
  row_bits_.resize((size_t{changes_.width()} + 63) >> 6);
  BitWriter writer(out);
  auto run = [&](auto& tok) {
    do {
      const uint64_t start = tok.position();
      uint64_t used[4 * kMaxTokenKinds];
      const size_t count = tok.next_block(tokens_.get(), kBlockTokens, stats_, used);
      const uint64_t end = tok.position();
      const bool last = tok.done();
      uint32_t distances[kMaxTokenKinds];
      tok.distances(distances);
      if (!write_huffman_block_kinds(tokens_.get(), count, stats_, distances, kMaxTokenKinds,
                                     used, end - start, final && last, writer)) {
        // Rare: with dark-on-light bytes (all under 144: 8-bit literals in the fixed code) and
        // matches of 5 bytes or more (at most 26 bits) the fixed code never loses to stored
        // blocks; light-on-dark ink (255, a 9-bit literal) might, on a block of little else.
        // Then draw the image once and store the block's bytes.
        if (rendered_.size() != raw_size_) {
          rendered_.resize(raw_size_);
          render(rendered_.data());
        }
        write_stored_block(rendered_.data() + start, end - start, final && last, writer);
      }
    } while (!tok.done());
  };
  rendered_.clear();
  if (uint64_t{changes_.width()} * px.size > kMaxDistance) {
    // Rows longer than DEFLATE's window have no row copy: the row encoder on the drawn image
    // (which copies within a row) compresses them as well as anything here would.
    rendered_.resize(raw_size_);
    render(rendered_.data());
    if (!wide_rows_) wide_rows_.reset(new Encoder());
    wide_rows_->encode_rows(rendered_.data(), raw_size_, uint64_t{changes_.width()} * px.size,
                            final, out);
    return;
  }
  if (px.size == 1) {
    Tokenizer<0> tok(changes_, px, period_, row_bits_.data());
    run(tok);
  } else {
    Tokenizer<2> tok(changes_, px, period_, row_bits_.data());
    run(tok);
  }
  if (!final) write_sync_flush(writer);
  writer.finish();
}

void GeometryEncoder::append_zlib(std::vector<uint8_t>& out) {
  // CMF 0x78: deflate with a 32 KiB window; FLG 0x01: "fastest" level, check bits for 31.
  out.push_back(0x78);
  out.push_back(0x01);
  encode(true, out);
  put_be32(out, adler32());
}

uint32_t GeometryEncoder::append_piece(std::vector<uint8_t>& out) {
  encode(false, out);
  return crc32();
}

void GeometryEncoder::append_gzip(std::vector<uint8_t>& out) {
  static constexpr uint8_t kHeader[10] = {0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0x04, 0xFF};
  out.insert(out.end(), kHeader, kHeader + sizeof kHeader);
  encode(true, out);
  put_le32(out, crc32());
  put_le32(out, static_cast<uint32_t>(raw_size_));
}

// Adler-32 = B << 16 | A over the n bytes d_i: A = 1 + sum d_i, B = n + sum (n - i) d_i
// (mod 65521). The blank image has closed forms; every change at (r, c) adds or removes its
// column's difference on rows r..H-1, an arithmetic series in the position.
uint32_t GeometryEncoder::adler32() const {
  const PixelBytes px = pixel_bytes_of(type_, polarity_);
  const int64_t m = kAdlerMod;
  const uint64_t width = changes_.width(), height = changes_.height();
  const uint64_t pixels = width * height, n = raw_size_, p = px.size;
  int64_t bg_sum = 0, bg_weighted = 0, d_sum = 0, d_weighted = 0;
  for (unsigned o = 0; o < p; ++o) {
    bg_sum += px.bg[o];
    bg_weighted += int64_t{o} * px.bg[o];
    const int64_t d = int64_t{px.ink[o]} - px.bg[o];
    d_sum += d;
    d_weighted += int64_t{o} * d;
  }
  // Blank: pixel y byte o sits at i = y p + o and counts (n - i) times in B.
  const __int128 sum_y = (pixels % 2 == 0) ? __int128(pixels / 2) * (pixels - 1)
                                           : __int128(pixels) * ((pixels - 1) / 2);
  const int64_t pix_m = mod_adler(pixels), n_m = mod_adler(n), sum_y_m = mod_adler(sum_y);
  int64_t a = mod_adler(1 + __int128(pix_m) * bg_sum);
  int64_t b = mod_adler(__int128(n_m) + mod_adler(__int128(pix_m) * n_m) * bg_sum -
                        mod_adler(__int128(p) * sum_y_m) * bg_sum - __int128(pix_m) * bg_weighted);
  // Changes: ink pixel (r', c) for r' >= r adds d at i = (r' W + c) p + o.
  __int128 s_k = 0, s_kc = 0, s_kr = 0;
  const InkChange* ch = changes_.changes();
  for (size_t i = 0, n_ch = changes_.change_count(); i < n_ch; ++i) {
    const InkChange& c = ch[i];
    const int64_t k = static_cast<int64_t>(height - c.row);
    const __int128 kc = __int128(k) * c.column();
    const __int128 kr = __int128(k) * (int64_t{c.row} + static_cast<int64_t>(height) - 1);
    if (c.to_ink()) {
      s_k += k;
      s_kc += kc;
      s_kr += kr;
    } else {
      s_k -= k;
      s_kc -= kc;
      s_kr -= kr;
    }
  }
  // sum over the series of rows r..H-1 of r' is k (r + H - 1) / 2; the sum of those is even.
  const int64_t sk = mod_adler(s_k), skc = mod_adler(s_kc), skr = mod_adler(s_kr / 2);
  a = mod_adler(__int128(a) + __int128(sk) * mod_adler(d_sum));
  const int64_t per_k = mod_adler(__int128(mod_adler(d_sum)) * n_m - d_weighted);
  const int64_t pos = mod_adler(__int128(skc) + __int128(mod_adler(width)) * skr);
  b = mod_adler(__int128(b) + __int128(per_k) * sk -
                __int128(mod_adler(__int128(mod_adler(d_sum)) * int64_t(p))) * pos);
  (void)m;
  return static_cast<uint32_t>(b << 16 | a);
}

void GeometryEncoder::prepare_crc() {
  const uint64_t row_bytes = uint64_t{changes_.width()} * pixel_bytes(type_);
  if (row_bytes == crc_row_bytes_ && type_ == crc_type_ && polarity_ == crc_polarity_ &&
      !crc_column_.empty())
    return;
  const PixelBytes px = pixel_bytes_of(type_, polarity_);
  crc_row_shift_.init(row_bytes);
  uint32_t blank = 0;
  for (uint32_t c = 0; c < changes_.width(); ++c) blank = crc32_register(blank, px.bg, px.size);
  crc_blank_row_ = blank;
  // Column c's difference is followed by the rest of the row in zeros.
  uint8_t diff[4], zeros[4] = {0, 0, 0, 0};
  for (unsigned o = 0; o < px.size; ++o) diff[o] = px.bg[o] ^ px.ink[o];
  crc_column_.resize(changes_.width());
  uint32_t term = crc32_register(0, diff, px.size);
  for (uint32_t c = changes_.width(); c-- > 0;) {
    crc_column_[c] = term;
    term = crc32_register(term, zeros, px.size);
  }
  crc_row_bytes_ = row_bytes;
  crc_type_ = type_;
  crc_polarity_ = polarity_;
}

// Row by row: the register after a row is T^row_bytes(register before) xor L(row), and L(row)
// is L(row above) xor the terms of the pixels that changed.
uint32_t GeometryEncoder::crc32() {
  prepare_crc();
  const InkChange* ch = changes_.changes();
  const size_t n_ch = changes_.change_count();
  uint32_t reg = ~0u, row_reg = crc_blank_row_;
  size_t i = 0;
  const uint32_t height = changes_.height();
  for (uint32_t r = 0; r < height; ++r) {
    for (; i < n_ch && ch[i].row == r; ++i) row_reg ^= crc_column_[ch[i].column()];
    reg = crc_row_shift_.apply(reg) ^ row_reg;
  }
  return ~reg;
}

}  // namespace ohlc::deflate
