// LSB-first bit output into a std::vector, as DEFLATE wants it.
// Bits collect in a 64-bit register and leave 4 bytes at a time through one unaligned 8-byte
// store, so the hot path has no per-byte loop; the store runs past the bytes it commits,
// hence reserve() keeps 8 bytes of slack beyond what the caller asks for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace ohlc::deflate {

class BitWriter {
 public:
  // Appends to `out` from its current end.
  explicit BitWriter(std::vector<uint8_t>& out) : out_(out), pos_(out.size()) {}

  // Room for `bytes` more committed bytes; call before each batch of puts that fits in it.
  void reserve(size_t bytes) {
    const size_t need = pos_ + bytes + 16;
    if (out_.size() < need) out_.resize(need);  // capacity still grows geometrically
  }

  // n <= 32 and bits < 2^n (callers mask; stray high bits would corrupt later fields).
  void put(uint64_t bits, unsigned n) {
    buf_ |= bits << count_;
    count_ += n;
    if (count_ >= 32) {
      store_le64(out_.data() + pos_, buf_);
      pos_ += 4;
      buf_ >>= 32;
      count_ -= 32;
    }
  }

  // Bits already emitted past the last byte boundary (0..7).
  unsigned bit_offset() const { return count_ & 7; }

  // Pads with zero bits to a byte boundary and commits every pending byte.
  void align_to_byte() {
    count_ = (count_ + 7) & ~7u;
    while (count_ > 0) {
      out_[pos_++] = static_cast<uint8_t>(buf_);
      buf_ >>= 8;
      count_ -= 8;
    }
  }

  // Byte-aligned copy (after align_to_byte).
  void put_bytes(const uint8_t* src, size_t n) {
    if (n) std::memcpy(out_.data() + pos_, src, n);
    pos_ += n;
  }

  // Pads to a byte and trims `out` to what was written.
  void finish() {
    align_to_byte();
    out_.resize(pos_);
  }

 private:
  static void store_le64(uint8_t* p, uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    std::memcpy(p, &v, 8);
  }

  std::vector<uint8_t>& out_;
  size_t pos_;
  uint64_t buf_ = 0;
  unsigned count_ = 0;
};

}  // namespace ohlc::deflate
