// One member of a ZIP archive held in memory -> its bytes, checked against what the archive
// declares. Plain C++ (no Node-API). The ZIP structure itself (central directory, local header)
// is read elsewhere (yauzl, in ts/data/zip.ts), which hands over where the member's data lies and
// what it claims to be; this inflates it with libdeflate in one whole-buffer call into exactly the
// declared number of bytes (so a lying header can never make it write more) and checks the
// CRC-32.
#pragma once

#include <cstddef>
#include <cstdint>
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

// What went wrong, as a phrase following the member's name ("fails its CRC-32 check ...").
std::string describe_zip_inflate(const ZipInflateResult& result, const ZipMemberSpec& spec);

}  // namespace ohlc
