#include "kernels/deflate/crc32_shift.hpp"

#include <array>

namespace ohlc::deflate {

namespace {

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

// A 32x32 GF(2) matrix as its columns: m[i] is the image of bit i.
using Matrix = std::array<uint32_t, 32>;

uint32_t times(const Matrix& m, uint32_t v) {
  uint32_t r = 0;
  for (int i = 0; v; ++i, v >>= 1)
    if (v & 1) r ^= m[i];
  return r;
}

Matrix compose(const Matrix& a, const Matrix& b) {  // a after b
  Matrix r;
  for (int i = 0; i < 32; ++i) r[i] = times(a, b[i]);
  return r;
}

}  // namespace

uint32_t crc32_register(uint32_t state, const uint8_t* data, size_t n) {
  for (size_t i = 0; i < n; ++i) state = (state >> 8) ^ kCrcTable[(state ^ data[i]) & 0xFF];
  return state;
}

void Crc32ZeroShift::init(uint64_t zero_bytes) {
  zero_bytes_ = zero_bytes;
  Matrix base, result;
  for (int i = 0; i < 32; ++i) {
    const uint32_t bit = 1u << i;
    base[i] = (bit >> 8) ^ kCrcTable[bit & 0xFF];  // one zero byte
    result[i] = bit;                               // identity
  }
  for (uint64_t k = zero_bytes; k; k >>= 1) {
    if (k & 1) result = compose(base, result);
    if (k > 1) base = compose(base, base);
  }
  for (int byte = 0; byte < 4; ++byte) {
    table_[byte][0] = 0;
    for (int v = 1; v < 256; ++v) {
      const int low = v & -v;
      table_[byte][v] = table_[byte][v ^ low] ^ result[8 * byte + __builtin_ctz(low)];
    }
  }
}

}  // namespace ohlc::deflate
