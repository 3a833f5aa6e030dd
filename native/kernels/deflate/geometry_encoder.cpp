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

PixelBytes pixel_bytes_of(PixelType type) {
  // Little-endian float32 1.0f = 00 00 80 3F, 0.0f = 00 00 00 00.
  if (type == PixelType::U8) return {{1}, {0}, 1, 0, 0};
  return {{0x00, 0x00, 0x80, 0x3F}, {0, 0, 0, 0}, 4, 2, 3};
}

// The tokenizer walks the virtual byte stream of the image (row-major, 2^kShift bytes a pixel)
// and at every token takes the longest of three copies, capped at one match (258): one pixel
// back through background, one row back, two rows back; on a tie the cheaper distance (in that
// order). A run shorter than kShortestMatch is sent as literals.
//
// Each copy keeps [end, resume): its run from p reaches end (p < end), or it has none (p >= end);
// nothing about it can change before p reaches resume, so the geometry is consulted only there:
// at a changed pixel for the row copies, at a row's ink extent for the pixel copy.
// Rows must be at most 32 KiB (DEFLATE's window); the caller falls back beyond.
template <unsigned kShift>
class Tokenizer {
 public:
  static constexpr uint64_t kPixel = uint64_t{1} << kShift;

  Tokenizer(const InkChanges& m, const PixelBytes& px, uint32_t period, uint64_t* row_bits)
      : px_(px) {
    s_.ch = m.changes();
    s_.nch = m.change_count();
    s_.rows = m.rows();
    s_.nrows = m.row_count();
    s_.width = m.width();
    s_.height = m.height();
    s_.row_bytes = uint64_t{m.width()} << kShift;
    s_.pixels = uint64_t{m.width()} * m.height();
    s_.size = s_.pixels << kShift;
    s_.first_diff = px.first_diff;
    s_.last_diff = px.last_diff;
    s_.use_two_rows = 2 * s_.row_bytes <= kMaxDistance;
    s_.period = period < s_.width && period < 64 && (uint64_t{period} << kShift) > kPixel ? period : 0;
    s_.bits = row_bits;
    std::memset(row_bits, 0, ((size_t{s_.width} + 63) >> 6) * sizeof(uint64_t));
    s_.sym_pixel = static_cast<uint32_t>(dist_symbol(static_cast<uint32_t>(kPixel - 1)));
    s_.sym_row = static_cast<uint32_t>(dist_symbol(static_cast<uint32_t>(s_.row_bytes - 1)));
    s_.sym_period =
        s_.period ? static_cast<uint32_t>(dist_symbol(static_cast<uint32_t>((uint64_t{s_.period} << kShift) - 1))) : 0;
    s_.sym_two_rows =
        s_.use_two_rows ? static_cast<uint32_t>(dist_symbol(static_cast<uint32_t>(2 * s_.row_bytes - 1))) : 0;
    // Nothing to copy from before the first row (two rows) are out; pixel 0 has no left.
    s_.end_row = 0;
    s_.resume_row = s_.row_bytes;
    s_.end_two = 0;
    s_.resume_two = s_.use_two_rows ? 2 * s_.row_bytes : kNone;
    s_.end_pixel = 0;
    s_.resume_pixel = kPixel;
    s_.end_period = 0;
    s_.resume_period = s_.period ? uint64_t{s_.period} << kShift : kNone;
    advance_two_rows(s_);  // the first break; its run is looked at from 2 rows on
  }

  uint64_t position() const { return s_.p; }
  bool done() const { return s_.p >= s_.size; }

  // Tokens from the current position until the end or `max_tokens`; resets and fills `stats`
  // (every token plus the end of block).
  size_t next_block(uint32_t* tokens, size_t max_tokens, BlockStats& stats) {
    std::memset(&stats, 0, sizeof stats);
    State s = s_;  // a local copy the compiler keeps in registers: stores through `tokens` and
                   // `stats` could alias members, which would force reloads per token
    size_t n = 0;
    const uint32_t row_dist = static_cast<uint32_t>(s.row_bytes);
    const uint32_t two_dist = static_cast<uint32_t>(2 * s.row_bytes);
    const uint32_t period_dist = static_cast<uint32_t>(uint64_t{s.period} << kShift);
    while (s.p < s.size && n < max_tokens) {
      if (s.p >= s.resume_row) next_row_break(s);
      if (s.p >= s.resume_two) next_two_rows_break(s);
      if (s.p >= s.resume_pixel) pixel_region(s);
      if (s.p >= s.resume_period) period_region(s);
      const uint64_t p = s.p;
      const uint64_t pixel = p < s.end_pixel ? s.end_pixel - p : 0;
      const uint64_t period = p < s.end_period ? s.end_period - p : 0;
      const uint64_t row = p < s.end_row ? s.end_row - p : 0;
      const uint64_t two = p < s.end_two ? s.end_two - p : 0;
      uint64_t best = std::min<uint64_t>(pixel, kMaxMatch), run = pixel;
      uint32_t dist = static_cast<uint32_t>(kPixel), sym = s.sym_pixel;
      const uint64_t period_capped = std::min<uint64_t>(period, kMaxMatch);
      if (period_capped > best) {
        best = period_capped;
        run = period;
        dist = period_dist;
        sym = s.sym_period;
      }
      const uint64_t row_capped = std::min<uint64_t>(row, kMaxMatch);
      if (row_capped > best) {
        best = row_capped;
        run = row;
        dist = row_dist;
        sym = s.sym_row;
      }
      const uint64_t two_capped = std::min<uint64_t>(two, kMaxMatch);
      if (two_capped > best) {
        best = two_capped;
        run = two;
        dist = two_dist;
        sym = s.sym_two_rows;
      }
      if (best < kShortestMatch) {
        const uint8_t b = literal(s);
        tokens[n++] = b;
        ++stats.litlen[b];
        ++s.p;
        continue;
      }
      if (run >= kMaxMatch + kMinMatch) {
        // Whole 258s while nothing can change the choice: every other copy's run only shrinks
        // until its resume point.
        const uint64_t limit =
            std::min({s.resume_row, s.resume_two, s.resume_pixel, s.resume_period, s.size});
        const uint32_t full = match_token(kMaxMatch, dist);
        size_t pieces = 0;
        do {
          tokens[n++] = full;
          ++pieces;
          s.p += kMaxMatch;
          run -= kMaxMatch;
        } while (run >= kMaxMatch + kMinMatch && s.p < limit && n < max_tokens);
        stats.litlen[257 + kLengthIndex[kMaxMatch - 3]] += static_cast<uint32_t>(pieces);
        stats.dist[sym] += static_cast<uint32_t>(pieces);
        continue;
      }
      // 259 and 260 leave a tail under 3: split them as (run - 3) + 3.
      const uint32_t piece = static_cast<uint32_t>(run > kMaxMatch ? run - kMinMatch : run);
      tokens[n++] = match_token(piece, dist);
      ++stats.litlen[257 + kLengthIndex[piece - 3]];
      ++stats.dist[sym];
      s.p += piece;
    }
    stats.litlen[kEndOfBlock] = 1;
    s_ = s;
    return n;
  }

 private:
  struct State {
    const InkChange* ch;
    size_t nch;
    const ChangedRow* rows;
    size_t nrows;
    uint64_t width, height, row_bytes, pixels, size, first_diff, last_diff;
    bool use_two_rows;
    uint64_t* bits;  // the current row's pixels: changes [0, synced) applied
    uint64_t period;  // pixels; 0: none
    uint32_t sym_pixel, sym_period, sym_row, sym_two_rows;

    uint64_t p = 0;
    uint64_t row = 0, row_start = 0;
    size_t ek = 0;  // rows[ek]: the ChangedRow whose content row `row` has
    size_t ir = 0;
    uint64_t end_row, resume_row;
    size_t ia = 0, ib = 0;
    uint64_t two_rows_break = kNone;
    uint64_t end_two, resume_two;
    uint64_t end_pixel, resume_pixel;
    uint64_t end_period, resume_period;
    size_t synced = 0;
  };

  static uint64_t break_start(const State& s, uint64_t pixel) {
    return (pixel << kShift) + s.first_diff;
  }

  static void track_row(State& s) {
    while (s.p - s.row_start >= s.row_bytes) {
      s.row_start += s.row_bytes;
      ++s.row;
    }
    while (s.ek + 1 < s.nrows && s.rows[s.ek + 1].row <= s.row) ++s.ek;
  }

  // One row back: up to the next changed pixel's first differing byte.
  static void next_row_break(State& s) {
    while (s.ir < s.nch && (s.ch[s.ir].pixel << kShift) + s.last_diff < s.p) ++s.ir;
    if (s.ir == s.nch) {
      s.end_row = s.size;
      s.resume_row = kNone;
    } else {
      const uint64_t at = s.ch[s.ir].pixel << kShift;
      s.end_row = at + s.first_diff;
      s.resume_row = at + s.last_diff + 1;
    }
  }

  // Two rows back: a pixel differs from the one two rows up when exactly one of it and the
  // pixel above it changed (two flips cancel): the changes merged with themselves one row on.
  static void advance_two_rows(State& s) {
    for (;;) {
      const uint64_t a = s.ia < s.nch ? s.ch[s.ia].pixel : kNone;
      const uint64_t b = s.ib < s.nch ? s.ch[s.ib].pixel + s.width : kNone;
      if (a == b) {
        if (a == kNone) {
          s.two_rows_break = kNone;
          return;
        }
        ++s.ia;
        ++s.ib;
        continue;
      }
      if (a < b) {
        s.two_rows_break = a;
        ++s.ia;
      } else {
        s.two_rows_break = b;
        ++s.ib;
      }
      if (s.two_rows_break >= s.pixels) s.two_rows_break = kNone;
      return;
    }
  }

  static void next_two_rows_break(State& s) {
    while (s.two_rows_break != kNone && (s.two_rows_break << kShift) + s.last_diff < s.p)
      advance_two_rows(s);
    if (s.two_rows_break == kNone) {
      s.end_two = s.size;
      s.resume_two = kNone;
    } else {
      const uint64_t at = s.two_rows_break << kShift;
      s.end_two = at + s.first_diff;
      s.resume_two = at + s.last_diff + 1;
    }
  }

  // The first ink pixel after the current row (pixels when none).
  static uint64_t next_ink_after_row(const State& s) {
    const ChangedRow& k = s.rows[s.ek];
    const uint64_t span_end = s.ek + 1 < s.nrows ? s.rows[s.ek + 1].row : s.height;
    if (s.row + 1 < span_end && k.last_ink >= 0) return (s.row + 1) * s.width + k.first_ink;
    if (k.next_inked < s.nrows) {
      const ChangedRow& q = s.rows[k.next_inked];
      return uint64_t{q.row} * s.width + q.first_ink;
    }
    return s.pixels;
  }

  static bool previous_row_ends_blank(const State& s) {  // s.row >= 1
    const ChangedRow& k = s.rows[s.ek].row <= s.row - 1 ? s.rows[s.ek] : s.rows[s.ek - 1];
    return k.last_ink < static_cast<int64_t>(s.width) - 1;
  }

  static void sync_bits(State& s) {
    for (; s.synced < s.nch && s.ch[s.synced].row <= s.row; ++s.synced) {
      const uint32_t c = s.ch[s.synced].column();
      s.bits[c >> 6] ^= uint64_t{1} << (c & 63);
    }
  }
  static bool bit(const State& s, uint64_t c) { return (s.bits[c >> 6] >> (c & 63)) & 1; }

  static uint64_t next_bit(const State& s, uint64_t from) {
    if (from >= s.width) return s.width;
    size_t w = from >> 6;
    uint64_t word = s.bits[w] & (~uint64_t{0} << (from & 63));
    const size_t words = (size_t{s.width} + 63) >> 6;
    while (!word) {
      if (++w == words) return s.width;
      word = s.bits[w];
    }
    return std::min<uint64_t>((w << 6) + static_cast<uint64_t>(__builtin_ctzll(word)), s.width);
  }

  static void set_pixel_run(State& s, uint64_t end_pixel) {
    s.end_pixel = end_pixel >= s.pixels ? s.size : (end_pixel << kShift) + s.first_diff;
    s.resume_pixel = s.end_pixel;
  }
  static void no_pixel_run_before(State& s, uint64_t resume) {
    s.end_pixel = 0;
    s.resume_pixel = resume;
  }

  // One pixel back, through background only: after a row's last ink (on into the next rows up
  // to the next ink), before its first, and between inks.
  static void pixel_region(State& s) {
    track_row(s);
    const int64_t c = static_cast<int64_t>((s.p - s.row_start) >> kShift);
    const ChangedRow& k = s.rows[s.ek];
    if (c > k.last_ink) {
      if (c == 0 ? previous_row_ends_blank(s) : c - 1 != k.last_ink)
        set_pixel_run(s, next_ink_after_row(s));
      else  // just after the last ink; from the next pixel on
        no_pixel_run_before(s, s.row_start + (static_cast<uint64_t>(c + 1) << kShift));
      return;
    }
    if (c < k.first_ink) {
      if (c == 0 && !previous_row_ends_blank(s))
        no_pixel_run_before(s, s.row_start + kPixel);
      else
        set_pixel_run(s, s.row * s.width + static_cast<uint64_t>(k.first_ink));
      return;
    }
    sync_bits(s);
    const uint64_t uc = static_cast<uint64_t>(c);
    if (bit(s, uc) || (c > 0 && bit(s, uc - 1))) {
      // On ink or just after it: from the second background pixel after it.
      const uint64_t bg = next_zero_bit(s, uc);
      no_pixel_run_before(s, s.row_start + ((bg + 1) << kShift));
      return;
    }
    const uint64_t next = next_bit(s, uc + 1);
    set_pixel_run(s, next < s.width ? s.row * s.width + next : next_ink_after_row(s));
  }

  // One bar back (`period` pixels): through the repeating pattern of dense rows. Only inside a
  // row's extent: elsewhere the pixel copy covers the same bytes for fewer bits; and within the
  // row (its first `period` pixels compare with the row above, which the row copy handles).
  static void period_region(State& s) {
    track_row(s);
    const uint64_t c = (s.p - s.row_start) >> kShift;
    const ChangedRow& k = s.rows[s.ek];
    const uint64_t next_row = s.row_start + s.row_bytes;
    const int64_t last_reach = k.last_ink + static_cast<int64_t>(s.period);
    if (k.last_ink < 0 || static_cast<int64_t>(c) > last_reach) {
      s.end_period = 0;
      s.resume_period = next_row + (s.period << kShift);
      return;
    }
    if (c < s.period || static_cast<int64_t>(c) < k.first_ink) {
      s.end_period = 0;
      s.resume_period = s.row_start +
          (std::max<uint64_t>(s.period, static_cast<uint64_t>(std::max<int64_t>(k.first_ink, 0))) << kShift);
      if (s.resume_period <= s.p) s.resume_period = s.p + 1;
      return;
    }
    sync_bits(s);
    const uint64_t y = next_period_break(s, c);
    if (y == c) {
      s.end_period = 0;
      s.resume_period = s.row_start + ((c + 1) << kShift);
      return;
    }
    // A break beyond the last ink's reach would only be the row's end.
    s.end_period = y < s.width ? s.row_start + (y << kShift) + s.first_diff : next_row;
    s.resume_period = s.end_period;
  }

  // First pixel y >= c of the row whose value differs from pixel y - period (c >= period);
  // width when none.
  static uint64_t next_period_break(const State& s, uint64_t c) {
    const unsigned k = static_cast<unsigned>(s.period);
    const size_t words = (size_t{s.width} + 63) >> 6;
    size_t w = c >> 6;
    auto diff = [&](size_t i) {
      const uint64_t shifted = (s.bits[i] << k) | (i ? s.bits[i - 1] >> (64 - k) : 0);
      return s.bits[i] ^ shifted;
    };
    uint64_t x = diff(w) & (~uint64_t{0} << (c & 63));
    while (!x) {
      if (++w == words) return s.width;
      x = diff(w);
    }
    return std::min<uint64_t>((w << 6) + static_cast<uint64_t>(__builtin_ctzll(x)), s.width);
  }

  static uint64_t next_zero_bit(const State& s, uint64_t from) {
    size_t w = from >> 6;
    uint64_t word = ~s.bits[w] & (~uint64_t{0} << (from & 63));
    const size_t words = (size_t{s.width} + 63) >> 6;
    while (!word) {
      if (++w == words) return s.width;
      word = ~s.bits[w];
    }
    return std::min<uint64_t>((w << 6) + static_cast<uint64_t>(__builtin_ctzll(word)), s.width);
  }

  uint8_t literal(State& s) const {
    track_row(s);
    const uint64_t offset = s.p - s.row_start;
    const int64_t c = static_cast<int64_t>(offset >> kShift);
    const unsigned byte = static_cast<unsigned>(offset & (kPixel - 1));
    const ChangedRow& k = s.rows[s.ek];
    bool ink = false;
    if (c >= k.first_ink && c <= k.last_ink) {
      sync_bits(s);
      ink = bit(s, static_cast<uint64_t>(c));
    }
    return ink ? px_.ink[byte] : px_.bg[byte];
  }

  State s_;
  PixelBytes px_;
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

GeometryEncoder::GeometryEncoder() : tokens_(new uint32_t[kBlockTokens]), stats_{} {}
GeometryEncoder::~GeometryEncoder() = default;

void GeometryEncoder::set_type(PixelType type) {
  type_ = type;
  raw_size_ = uint64_t{changes_.width()} * changes_.height() * pixel_bytes(type);
}

void GeometryEncoder::set_bars(const BarRows* bars, ImageShape shape, PixelType type) {
  if (type != PixelType::U8 && type != PixelType::F32)
    throw std::invalid_argument("GeometryEncoder: unknown pixel type");
  changes_.build_bars(bars, shape.seq_len, shape.height);
  set_type(type);
  period_ = 4;
}

void GeometryEncoder::set_runs(const InkRun* runs, size_t count, uint32_t width,
                               uint32_t height, PixelType type, uint32_t period) {
  if (type != PixelType::U8 && type != PixelType::F32)
    throw std::invalid_argument("GeometryEncoder: unknown pixel type");
  changes_.build(runs, count, width, height);
  set_type(type);
  period_ = period;
}

void GeometryEncoder::render(uint8_t* out) const {
  const PixelBytes px = pixel_bytes_of(type_);
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
  const PixelBytes px = pixel_bytes_of(type_);
  row_bits_.resize((size_t{changes_.width()} + 63) >> 6);
  BitWriter writer(out);
  auto run = [&](auto& tok) {
    do {
      const uint64_t start = tok.position();
      const size_t count = tok.next_block(tokens_.get(), kBlockTokens, stats_);
      const uint64_t end = tok.position();
      const bool last = tok.done();
      if (!write_huffman_block(tokens_.get(), count, stats_, end - start, final && last,
                               writer)) {
        // Only tiny images (or blocks of pure noise, which bar images do not have) are
        // smaller stored: draw the image once and store the block's bytes.
        if (rendered_.size() != raw_size_) {
          rendered_.resize(raw_size_);
          render(rendered_.data());
        }
        write_block(tokens_.get(), count, stats_, rendered_.data() + start, end - start,
                    final && last, writer);
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
  const PixelBytes px = pixel_bytes_of(type_);
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
  if (row_bytes == crc_row_bytes_ && type_ == crc_type_ && !crc_column_.empty()) return;
  const PixelBytes px = pixel_bytes_of(type_);
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
