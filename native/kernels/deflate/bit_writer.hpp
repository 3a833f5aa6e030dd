// LSB-first bit output into a std::vector, as DEFLATE wants it.
// Bits collect in a 64-bit register; every put stores all 8 bytes of it unaligned and then
// advances by the whole bytes it holds, so there is no branch and no per-byte loop. Stores run
// past the committed bytes, hence reserve() keeps slack beyond what the caller asks for.
//
// Hot loops copy the state into a Cursor (a local value the compiler keeps in registers: the
// byte stores could alias the writer's members, which otherwise forces a reload per put).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace ohlc::deflate {

struct BitCursor {
  uint8_t* p;
  uint64_t buf;    // pending bits, low first
  unsigned count;  // pending bits, always < 8 between puts

  // n <= 56 and bits < 2^n (callers mask; stray high bits would corrupt later fields).
  void put(uint64_t bits, unsigned n) {
    buf |= bits << count;
    count += n;
    uint64_t v = buf;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    std::memcpy(p, &v, 8);
    p += count >> 3;
    buf >>= count & ~7u;
    count &= 7;
  }
};

class BitWriter {
 public:
  // Appends to `out` from its current end.
  explicit BitWriter(std::vector<uint8_t>& out) : out_(out), pos_(out.size()) {}

  // Room for `bytes` more bytes; call before each batch of puts that fits in it.
  void reserve(size_t bytes) {
    const size_t need = pos_ + bytes + 16;
    if (out_.size() < need) out_.resize(need);  // capacity still grows geometrically
  }

  BitCursor cursor() { return {out_.data() + pos_, buf_, count_}; }
  void update(const BitCursor& c) {
    pos_ = static_cast<size_t>(c.p - out_.data());
    buf_ = c.buf;
    count_ = c.count;
  }

  void put(uint64_t bits, unsigned n) {
    BitCursor c = cursor();
    c.put(bits, n);
    update(c);
  }

  // Bits already emitted past the last byte boundary (0..7).
  unsigned bit_offset() const { return count_; }

  // Pads with zero bits to a byte boundary (the pending bits are already stored).
  void align_to_byte() {
    if (count_) ++pos_;
    buf_ = 0;
    count_ = 0;
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
  std::vector<uint8_t>& out_;
  size_t pos_;
  uint64_t buf_ = 0;
  unsigned count_ = 0;
};

}  // namespace ohlc::deflate
