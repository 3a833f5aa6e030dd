// SHA-256 (FIPS 180-4), for the content digest of datasets: the writer hashes every chunk as it
// stores it, so a dataset's digest costs no second read. Plain C++, or the x86 SHA extensions
// where the CPU has them (sha256.cpp); checked against Node's OpenSSL digest in
// test/manifest.test.ts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ohlc {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t bytes);
  // The digest as 64 lowercase hex digits; the object is spent afterwards.
  std::string hex();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_ = 0;
};

}  // namespace ohlc
