// The fixed tables of RFC 1951: length and distance symbol ranges, the code-length alphabet
// order and the fixed Huffman code. Everything is constexpr, so encoders share no mutable state.
#pragma once

#include <array>
#include <cstdint>

namespace ohlc::deflate {

constexpr int kNumLitLen = 286;  // 0..255 literals, 256 end of block, 257..285 lengths
constexpr int kNumDist = 30;
constexpr int kNumCodeLen = 19;
constexpr int kEndOfBlock = 256;
constexpr int kMinMatch = 3;
constexpr int kMaxMatch = 258;
constexpr uint32_t kMaxDistance = 32768;
constexpr int kMaxCodeBits = 15;     // litlen and distance codes
constexpr int kMaxCodeLenBits = 7;   // the code-length code
constexpr uint32_t kMaxStoredLen = 65535;

constexpr uint16_t kLengthBase[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr uint8_t kLengthExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr uint16_t kDistBase[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,    25,
                                    33,   49,   65,   97,   129,  193,   257,   385,   513,   769,
                                    1025, 1537, 2049, 3073, 4097, 6145,  8193,  12289, 16385, 24577};
constexpr uint8_t kDistExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                    6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

// Order in which the code-length code lengths are sent (RFC 1951 3.2.7).
constexpr uint8_t kCodeLenOrder[kNumCodeLen] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                                11, 4,  12, 3, 13, 2, 14, 1, 15};

// Extra bits of each litlen symbol (0 for literals and end of block).
constexpr std::array<uint8_t, kNumLitLen> make_litlen_extra() {
  std::array<uint8_t, kNumLitLen> t{};
  for (int i = 0; i < 29; ++i) t[257 + i] = kLengthExtra[i];
  return t;
}
constexpr std::array<uint8_t, kNumLitLen> kLitLenExtra = make_litlen_extra();

// Length symbol index (0..28, i.e. symbol - 257) of each match length - 3.
// 258 must use symbol 285: symbol 284 with all extra bits set is not a valid 258.
constexpr std::array<uint8_t, 256> make_length_index() {
  std::array<uint8_t, 256> t{};
  for (int i = 0; i < 28; ++i) {
    for (int v = 0; v < (1 << kLengthExtra[i]); ++v) {
      const int len = kLengthBase[i] + v;
      if (len <= 257) t[len - 3] = static_cast<uint8_t>(i);
    }
  }
  t[258 - 3] = 28;
  return t;
}
constexpr std::array<uint8_t, 256> kLengthIndex = make_length_index();

// Distance symbol of distance d (1..32768): d-1 < 256 by table, beyond from (d-1) >> 7,
// which works because every symbol from 16 on starts at a multiple of 128 plus one.
struct DistIndex {
  std::array<uint8_t, 256> small{};
  std::array<uint8_t, 256> large{};
};
constexpr DistIndex make_dist_index() {
  DistIndex t{};
  for (int s = 0; s < kNumDist; ++s) {
    const int first = kDistBase[s] - 1;
    const int last = first + (1 << kDistExtra[s]) - 1;
    for (int x = first; x <= last; ++x) {
      if (x < 256) t.small[x] = static_cast<uint8_t>(s);
      else t.large[x >> 7] = static_cast<uint8_t>(s);
    }
  }
  return t;
}
constexpr DistIndex kDistIndex = make_dist_index();

inline int dist_symbol(uint32_t distance_minus_1) {
  return distance_minus_1 < 256 ? kDistIndex.small[distance_minus_1]
                                : kDistIndex.large[distance_minus_1 >> 7];
}

constexpr uint32_t reverse_bits(uint32_t code, int len) {
  uint32_t r = 0;
  for (int i = 0; i < len; ++i) {
    r = (r << 1) | (code & 1);
    code >>= 1;
  }
  return r;
}

// The fixed code (RFC 1951 3.2.6), bit-reversed for LSB-first output.
struct FixedCode {
  std::array<uint8_t, 288> litlen_len{};
  std::array<uint16_t, 288> litlen_code{};
  std::array<uint8_t, 32> dist_len{};
  std::array<uint16_t, 32> dist_code{};
};
constexpr FixedCode make_fixed_code() {
  FixedCode f{};
  for (int s = 0; s < 288; ++s) {
    int len = 0;
    uint32_t code = 0;
    if (s < 144) { len = 8; code = 0x30 + s; }
    else if (s < 256) { len = 9; code = 0x190 + (s - 144); }
    else if (s < 280) { len = 7; code = s - 256; }
    else { len = 8; code = 0xC0 + (s - 280); }
    f.litlen_len[s] = static_cast<uint8_t>(len);
    f.litlen_code[s] = static_cast<uint16_t>(reverse_bits(code, len));
  }
  for (int s = 0; s < 32; ++s) {
    f.dist_len[s] = 5;
    f.dist_code[s] = static_cast<uint16_t>(reverse_bits(s, 5));
  }
  return f;
}
constexpr FixedCode kFixedCode = make_fixed_code();

}  // namespace ohlc::deflate
