// One member of a ZIP archive held in memory -> its bytes, checked against what the archive
// declares. Plain C++ (no Node-API). The ZIP structure itself (central directory, local header)
// is read elsewhere (yauzl, in ts/data/zip.ts), which hands over where the member's data lies and
// what it claims to be; this inflates it with libdeflate in one whole-buffer call into exactly the
// declared number of bytes (so a lying header can never make it write more) and checks the
// CRC-32. A large member (a month of 1s candles: ~350 MB of CSV) can instead be inflated slice by
// slice with zlib's streaming inflate, each slice handed to a consumer (the parser) and dropped,
// with the same checks.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace ohlc {

// What the archive's central directory says about a member.
struct ZipMemberSpec {
  uint64_t data_offset = 0;        // where its compressed bytes start in the archive
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;  // the output holds exactly this many bytes
  uint32_t crc32 = 0;              // of the uncompressed bytes
  int32_t method = 8;              // 0 stored, 8 deflate
};

struct ZipInflateResult {
  enum Status {
    kOk = 0,
    kOutOfBounds,     // the compressed bytes run past the end of the archive (truncated)
    kBadMethod,       // neither stored nor deflate
    kBadData,         // not a valid deflate stream, or one cut short
    kTooShort,        // the stream ends before the declared size
    kTooLong,         // the stream holds more than the declared size
    kStoredMismatch,  // a stored member whose two sizes differ
    kBadCrc,          // the bytes do not match the declared CRC-32
    kCancelled,       // the cancel flag was set (streaming only)
  };
  Status status = kOk;
  uint64_t actual_size = 0;  // bytes produced (kTooShort)
  uint32_t actual_crc = 0;   // of the bytes produced (kBadCrc)
};

// The member's bytes within the archive, or nullptr when they do not fit in [archive, +size).
const uint8_t* zip_member_data(const uint8_t* archive, size_t archive_size, const ZipMemberSpec& spec);

// Inflates (or copies, when stored) the member into out, which holds spec.uncompressed_size
// bytes (and is not null, even for 0), and checks its size and CRC-32. Never reads outside the
// archive or writes outside out. Bytes after the end of the deflate stream but inside the
// compressed size are ignored, as zlib does.
ZipInflateResult inflate_zip_member(const uint8_t* archive, size_t archive_size, const ZipMemberSpec& spec,
                                    uint8_t* out);

// Receives the member's bytes a slice at a time, in order.
using ZipSliceConsumer = std::function<void(const uint8_t* data, size_t size)>;

// The member's bytes in slices of at most slice_bytes (> 0): inflated by zlib into one reused
// buffer of that size, or, for a stored member, slices of the archive itself; each slice goes to
// consume. The checks and statuses are inflate_zip_member's for the same damage (a stream holding
// more than the declared size is cut there, kTooLong, without passing the excess on; a stream cut
// short is kBadData); the CRC-32 is computed as the slices pass, so consume sees every slice
// before a kBadCrc or kTooShort verdict. Never reads outside the archive. Memory: one slice and
// zlib's 32 KiB window. cancel, when set, is polled between slices (kCancelled).
ZipInflateResult inflate_zip_member_slices(const uint8_t* archive, size_t archive_size, const ZipMemberSpec& spec,
                                           size_t slice_bytes, const ZipSliceConsumer& consume,
                                           const std::atomic<bool>* cancel = nullptr);

// What went wrong, as a phrase following the member's name ("fails its CRC-32 check ...").
std::string describe_zip_inflate(const ZipInflateResult& result, const ZipMemberSpec& spec);

}  // namespace ohlc
