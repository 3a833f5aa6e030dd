// SHA-256 (FIPS 180-4), for the content digest of datasets: the writer hashes every chunk as it
// stores it, so a dataset's digest costs no second read. Nettle's implementation: Debian builds
// it "fat", choosing SHA-NI or SSSE3 code at run time (~4x a plain C++ loop here), and unlike
// OpenSSL its symbols cannot clash with the OpenSSL that Node itself exports. Checked against
// Node's digest in test/manifest.test.ts.
#pragma once

#include <nettle/sha2.h>

#include <cstddef>
#include <string>

namespace ohlc {

class Sha256 {
 public:
  Sha256() { sha256_init(&ctx_); }
  void update(const void* data, size_t bytes) { sha256_update(&ctx_, bytes, static_cast<const uint8_t*>(data)); }
  // The digest as 64 lowercase hex digits; the object starts over afterwards.
  std::string hex();

 private:
  sha256_ctx ctx_;
};

}  // namespace ohlc
