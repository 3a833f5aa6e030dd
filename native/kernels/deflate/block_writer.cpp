#include "kernels/deflate/block_writer.hpp"

#include <algorithm>

#include "kernels/deflate/huffman.hpp"

namespace ohlc::deflate {

namespace {

constexpr int kMaxHeaderLens = kNumLitLen + kNumDist;

// A dynamic block's code and the run-length coded code lengths that describe it.
struct DynamicCode {
  uint8_t litlen_len[kNumLitLen];
  uint16_t litlen_code[kNumLitLen];
  uint8_t dist_len[kNumDist];
  uint16_t dist_code[kNumDist];
  uint8_t codelen_len[kNumCodeLen];
  uint16_t codelen_code[kNumCodeLen];
  uint8_t rle_sym[kMaxHeaderLens];
  uint8_t rle_extra[kMaxHeaderLens];
  int rle_count = 0;
  int hlit = 0, hdist = 0, hclen = 0;
};

constexpr uint8_t kCodeLenExtraBits[kNumCodeLen] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                    0, 0, 0, 0, 0, 0, 2, 3, 7};

// Bits spent on extra bits, the same whichever Huffman code is used.
uint64_t extra_bits(const BlockStats& s) {
  uint64_t bits = 0;
  for (int i = 257; i < kNumLitLen; ++i) bits += uint64_t{s.litlen[i]} * kLitLenExtra[i];
  for (int i = 0; i < kNumDist; ++i) bits += uint64_t{s.dist[i]} * kDistExtra[i];
  return bits;
}

// Run-length codes the concatenated litlen and distance code lengths (symbols 16/17/18).
void run_length_code(DynamicCode& c, uint32_t* freq) {
  uint8_t lens[kMaxHeaderLens];
  std::copy(c.litlen_len, c.litlen_len + c.hlit, lens);
  std::copy(c.dist_len, c.dist_len + c.hdist, lens + c.hlit);
  const int total = c.hlit + c.hdist;
  auto emit = [&](int sym, int extra) {
    c.rle_sym[c.rle_count] = static_cast<uint8_t>(sym);
    c.rle_extra[c.rle_count++] = static_cast<uint8_t>(extra);
    ++freq[sym];
  };
  for (int i = 0; i < total;) {
    const uint8_t v = lens[i];
    int run = 1;
    while (i + run < total && lens[i + run] == v) ++run;
    i += run;
    if (v == 0) {
      while (run >= 11) {
        const int n = std::min(run, 138);
        emit(18, n - 11);
        run -= n;
      }
      if (run >= 3) {
        emit(17, run - 3);
        run = 0;
      }
    } else {
      emit(v, 0);
      --run;
      while (run >= 3) {
        const int n = std::min(run, 6);
        emit(16, n - 3);
        run -= n;
      }
    }
    for (; run > 0; --run) emit(v, 0);
  }
}

// Builds the dynamic code; returns the block's size in bits, header included, extra bits not.
uint64_t build_dynamic(const BlockStats& s, DynamicCode& c) {
  build_code_lengths(s.litlen, kNumLitLen, kMaxCodeBits, c.litlen_len);
  build_code_lengths(s.dist, kNumDist, kMaxCodeBits, c.dist_len);
  c.hlit = kNumLitLen;
  while (c.hlit > 257 && c.litlen_len[c.hlit - 1] == 0) --c.hlit;
  c.hdist = kNumDist;
  while (c.hdist > 1 && c.dist_len[c.hdist - 1] == 0) --c.hdist;

  uint32_t codelen_freq[kNumCodeLen] = {};
  c.rle_count = 0;
  run_length_code(c, codelen_freq);
  build_code_lengths(codelen_freq, kNumCodeLen, kMaxCodeLenBits, c.codelen_len);
  c.hclen = kNumCodeLen;
  while (c.hclen > 4 && c.codelen_len[kCodeLenOrder[c.hclen - 1]] == 0) --c.hclen;

  uint64_t bits = 3 + 5 + 5 + 4 + 3 * static_cast<uint64_t>(c.hclen);
  for (int i = 0; i < kNumCodeLen; ++i)
    bits += uint64_t{codelen_freq[i]} * (c.codelen_len[i] + kCodeLenExtraBits[i]);
  for (int i = 0; i < kNumLitLen; ++i) bits += uint64_t{s.litlen[i]} * c.litlen_len[i];
  for (int i = 0; i < kNumDist; ++i) bits += uint64_t{s.dist[i]} * c.dist_len[i];

  canonical_codes(c.litlen_len, kNumLitLen, c.litlen_code);
  canonical_codes(c.dist_len, kNumDist, c.dist_code);
  canonical_codes(c.codelen_len, kNumCodeLen, c.codelen_code);
  return bits;
}

uint64_t fixed_bits(const BlockStats& s) {
  uint64_t bits = 3;
  for (int i = 0; i < kNumLitLen; ++i) bits += uint64_t{s.litlen[i]} * kFixedCode.litlen_len[i];
  for (int i = 0; i < kNumDist; ++i) bits += uint64_t{s.dist[i]} * 5;
  return bits;
}

size_t stored_chunks(size_t raw_size) {
  return raw_size == 0 ? 1 : (raw_size + kMaxStoredLen - 1) / kMaxStoredLen;
}

uint64_t stored_bits(size_t raw_size, unsigned bit_offset) {
  const uint64_t first_pad = (8 - (bit_offset + 3) % 8) % 8;
  const uint64_t chunks = stored_chunks(raw_size);
  return 3 + first_pad + 8 * (chunks - 1) + 32 * chunks + 8 * uint64_t{raw_size};
}

void write_stored(const uint8_t* raw, size_t raw_size, bool final, BitWriter& out) {
  out.reserve(raw_size + 5 * stored_chunks(raw_size));
  size_t off = 0;
  do {
    const size_t n = std::min<size_t>(raw_size - off, kMaxStoredLen);
    const bool last = off + n == raw_size;
    out.put((final && last) ? 1 : 0, 3);
    out.align_to_byte();
    const uint8_t len_fields[4] = {static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8),
                                   static_cast<uint8_t>(~n), static_cast<uint8_t>(~n >> 8)};
    out.put_bytes(len_fields, 4);
    out.put_bytes(raw + off, n);
    off += n;
  } while (off < raw_size);
}

void write_tokens(const uint32_t* tokens, size_t count, const uint16_t* lcode,
                  const uint8_t* llen, const uint16_t* dcode, const uint8_t* dlen,
                  BitWriter& out) {
  // Each length's code and extra bits, joined once per block instead of once per match.
  uint32_t len_bits[256];
  uint8_t len_count[256];
  for (int len3 = 0; len3 < 256; ++len3) {
    const int li = kLengthIndex[len3];
    const int lsym = 257 + li;
    len_bits[len3] = lcode[lsym] | ((len3 + 3u - kLengthBase[li]) << llen[lsym]);
    len_count[len3] = static_cast<uint8_t>(llen[lsym] + kLengthExtra[li]);
  }
  BitCursor c = out.cursor();
  for (size_t i = 0; i < count; ++i) {
    const uint32_t t = tokens[i];
    if (!(t & kMatchFlag)) {
      c.put(lcode[t], llen[t]);
      continue;
    }
    const uint32_t len3 = t & 0xFF;
    const uint32_t d1 = (t >> 8) & 0x7FFF;
    const int ds = dist_symbol(d1);
    const uint64_t dist_bits = dcode[ds] | (uint64_t{d1 + 1 - kDistBase[ds]} << dlen[ds]);
    // At most 15 + 5 + 15 + 13 = 48 bits: one put.
    c.put(len_bits[len3] | (dist_bits << len_count[len3]),
          len_count[len3] + dlen[ds] + kDistExtra[ds]);
  }
  c.put(lcode[kEndOfBlock], llen[kEndOfBlock]);
  out.update(c);
}

void write_dynamic_header(const DynamicCode& c, bool final, BitWriter& out) {
  out.put(final ? 1 : 0, 1);
  out.put(2, 2);
  out.put(static_cast<uint32_t>(c.hlit - 257), 5);
  out.put(static_cast<uint32_t>(c.hdist - 1), 5);
  out.put(static_cast<uint32_t>(c.hclen - 4), 4);
  for (int i = 0; i < c.hclen; ++i) out.put(c.codelen_len[kCodeLenOrder[i]], 3);
  for (int i = 0; i < c.rle_count; ++i) {
    const int sym = c.rle_sym[i];
    out.put(c.codelen_code[sym] | (uint64_t{c.rle_extra[i]} << c.codelen_len[sym]),
            c.codelen_len[sym] + kCodeLenExtraBits[sym]);
  }
}

// The cheaper of a dynamic and a fixed Huffman block for these statistics, its header written and
// then its tokens by write(litlen code, litlen lengths, dist code, dist lengths); false, writing
// nothing, when a stored block would be smaller.
template <typename WriteTokens>
bool write_cheapest_block(const BlockStats& stats, size_t raw_size, bool final, BitWriter& out,
                          WriteTokens&& write) {
  DynamicCode dyn;
  const uint64_t extra = extra_bits(stats);
  const uint64_t dynamic = build_dynamic(stats, dyn) + extra;
  const uint64_t fixed = fixed_bits(stats) + extra;
  const uint64_t stored = stored_bits(raw_size, out.bit_offset());
  if (stored < dynamic && stored < fixed) return false;
  out.reserve(std::min(dynamic, fixed) / 8 + 8);
  if (dynamic < fixed) {
    write_dynamic_header(dyn, final, out);
    write(dyn.litlen_code, dyn.litlen_len, dyn.dist_code, dyn.dist_len);
  } else {
    out.put(final ? 1 : 0, 1);
    out.put(1, 2);
    write(kFixedCode.litlen_code.data(), kFixedCode.litlen_len.data(), kFixedCode.dist_code.data(),
          kFixedCode.dist_len.data());
  }
  return true;
}

}  // namespace

bool write_huffman_block(const uint32_t* tokens, size_t count, const BlockStats& stats,
                         size_t raw_size, bool final, BitWriter& out) {
  return write_cheapest_block(stats, raw_size, final, out,
                              [&](const uint16_t* lcode, const uint8_t* llen, const uint16_t* dcode, const uint8_t* dlen) {
                                write_tokens(tokens, count, lcode, llen, dcode, dlen, out);
                              });
}

namespace {

// Codes of every token a kinds-block can hold: literals, then 256 lengths per kind.
void write_kind_tokens(const uint16_t* tokens, size_t count, const uint16_t* lcode,
                       const uint8_t* llen, const uint16_t* dcode, const uint8_t* dlen,
                       const uint32_t* distances, int kinds, const uint64_t* used,
                       BitWriter& out) {
  constexpr int kClasses = 256 + 256 * kMaxTokenKinds;
  uint64_t bits[kClasses];
  uint8_t nbits[kClasses];
  for (int b = 0; b < 256; ++b) {
    bits[b] = lcode[b];
    nbits[b] = llen[b];
  }
  for (int k = 0; k < kinds; ++k) {
    const uint32_t d1 = distances[k] - 1;
    const int ds = dist_symbol(d1);
    const uint64_t dist_bits = dcode[ds] | (uint64_t{d1 + 1 - kDistBase[ds]} << dlen[ds]);
    const unsigned dist_count = dlen[ds] + kDistExtra[ds];
    auto code = [&](int len3) {
      const int li = kLengthIndex[len3];
      const int lsym = 257 + li;
      const unsigned lc = llen[lsym] + kLengthExtra[li];
      const uint64_t lb = lcode[lsym] | (uint64_t{len3 + 3u - kLengthBase[li]} << llen[lsym]);
      bits[256 + 256 * k + len3] = lb | (dist_bits << lc);
      nbits[256 + 256 * k + len3] = static_cast<uint8_t>(lc + dist_count);
    };
    if (!used) {
      for (int len3 = 0; len3 < 256; ++len3) code(len3);
      continue;
    }
    for (int w = 0; w < 4; ++w)
      for (uint64_t m = used[4 * k + w]; m; m &= m - 1) code(64 * w + __builtin_ctzll(m));
  }
  BitCursor c = out.cursor();
  for (size_t i = 0; i < count; ++i) c.put(bits[tokens[i]], nbits[tokens[i]]);
  c.put(lcode[kEndOfBlock], llen[kEndOfBlock]);
  out.update(c);
}

}  // namespace

bool write_huffman_block_kinds(const uint16_t* tokens, size_t count, const BlockStats& stats,
                               const uint32_t* distances, int kinds, const uint64_t* used,
                               size_t raw_size, bool final, BitWriter& out) {
  return write_cheapest_block(stats, raw_size, final, out,
                              [&](const uint16_t* lcode, const uint8_t* llen, const uint16_t* dcode, const uint8_t* dlen) {
                                write_kind_tokens(tokens, count, lcode, llen, dcode, dlen, distances, kinds, used, out);
                              });
}

void write_stored_block(const uint8_t* raw, size_t raw_size, bool final, BitWriter& out) {
  write_stored(raw, raw_size, final, out);
}

void write_block(const uint32_t* tokens, size_t count, const BlockStats& stats,
                 const uint8_t* raw, size_t raw_size, bool final, BitWriter& out) {
  if (!write_huffman_block(tokens, count, stats, raw_size, final, out))
    write_stored(raw, raw_size, final, out);
}

void write_sync_flush(BitWriter& out) {
  out.reserve(8);
  out.put(0, 3);
  out.align_to_byte();
  const uint8_t len_fields[4] = {0x00, 0x00, 0xFF, 0xFF};
  out.put_bytes(len_fields, 4);
}

}  // namespace ohlc::deflate
