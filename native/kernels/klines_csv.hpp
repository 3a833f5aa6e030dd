// Binance Vision kline CSV -> columnar candles. Plain C++ (no Node-API), so tools and benchmarks
// can use it directly. The format and its quirks are described in the project's BINANCE.md:
// 12 numeric columns, an optional header row (futures files), millisecond or (spot, 2025 on)
// microsecond timestamps, possibly mixed within one series.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ohlc {

// The 12 columns of a kline row, in file order.
enum class KlineField : int32_t {
  OpenTime = 0,
  Open,
  High,
  Low,
  Close,
  Volume,
  CloseTime,
  QuoteAssetVolume,
  NumberOfTrades,
  TakerBuyBaseVolume,
  TakerBuyQuoteVolume,
  Ignore,
};
constexpr int32_t kKlineColumnCount = 12;

// The Binance name of a column ("open_time", ...), "?" out of range.
const char* kline_field_name(int32_t field);

// Open times at or above this are microseconds (1e15 us is 1970-01-12; 1e15 ms is year 33658).
constexpr double kMicrosecondThreshold = 1e15;

// The columns callers use; the other five are validated and dropped.
struct KlineColumns {
  std::vector<double> open_time;  // ms since the epoch, UTC (microseconds normalised)
  std::vector<double> open, high, low, close, volume;
  std::vector<double> quote_volume;  // quote_asset_volume (column 8)
  size_t size() const { return open_time.size(); }
  // Room for `rows` in every column (reserve: the columns never reallocate below it).
  void reserve(size_t rows);
  size_t capacity() const { return open_time.capacity(); }
};

struct KlineParseOptions {
  bool skip_malformed = false;                 // skip and count bad rows instead of failing
  const std::atomic<bool>* cancel = nullptr;   // polled every few thousand lines
};

// A malformed row: where it is and what is wrong with it (message names the field).
struct KlineProblem {
  uint64_t line = 0;   // 1-based, counting a header and blank lines
  int32_t field = -1;  // KlineField, -1 when no single field is to blame
  std::string message;
};

struct KlineParseResult {
  enum Status { kOk = 0, kMalformed = 1, kCancelled = 2 };
  Status status = kOk;
  KlineColumns columns;
  bool header = false;        // the first line was a header row (skipped)
  uint64_t micro_rows = 0;    // rows whose timestamps were microseconds
  uint64_t skipped = 0;       // malformed rows skipped (skip_malformed only)
  KlineProblem problem;       // the error (kMalformed), or the first skipped row
};

// Parses a whole CSV held in memory. Numbers are read exactly as JavaScript's Number() reads
// decimal strings (correctly rounded); hex, "Infinity", surrounding spaces and empty fields are
// refused. CRLF or LF line ends, a UTF-8 BOM, blank lines and a missing final newline are
// accepted. Never reads outside [data, data + size), whatever the bytes.
KlineParseResult parse_klines_csv(const char* data, size_t size, const KlineParseOptions& options);

// The same parse over a CSV that arrives in pieces (a large ZIP member inflated slice by slice):
// complete lines are parsed as they come, straight from the piece; a partial last line is carried
// to the next one. The result is exactly parse_klines_csv's over the concatenated input: the same
// columns, the same errors at the same line numbers. Memory: the columns, reserved once for
// `expected_rows` (grown by an eighth when a piece would overflow them, never doubled), plus the
// carried line (a line longer than a piece, in a malformed file only, is carried whole).
class KlineCsvStream {
 public:
  KlineCsvStream(const KlineParseOptions& options, size_t expected_rows);

  // Parses the complete lines of the next piece. Returns false once the parse has stopped (a
  // malformed row without skip_malformed, or cancelled); later calls then do nothing.
  bool feed(const char* data, size_t size);

  // Ends the input: the carried last line (a file without a final newline) is parsed, and the
  // result moved out. Call once.
  KlineParseResult finish();

  bool stopped() const { return stopped_; }

 private:
  bool line(const char* begin, const char* end);
  void make_room(const char* data, size_t size);

  KlineParseOptions options_;
  KlineParseResult result_;
  std::string carry_;
  uint64_t line_ = 0;
  bool stopped_ = false;
};

}  // namespace ohlc
