#include "kernels/klines_csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>

namespace ohlc {

const char* kline_field_name(int32_t field) {
  static const char* const kNames[kKlineColumnCount] = {
      "open_time",  "open",       "high",
      "low",        "close",      "volume",
      "close_time", "quote_asset_volume", "number_of_trades",
      "taker_buy_base_volume", "taker_buy_quote_volume", "ignore"};
  return field >= 0 && field < kKlineColumnCount ? kNames[field] : "?";
}

namespace {

// Columns 0..5 and quote_asset_volume are kept (read exactly); the rest are only checked.
constexpr int32_t kKeptColumns = 6;
constexpr int32_t kQuoteColumn = static_cast<int32_t>(KlineField::QuoteAssetVolume);
constexpr int32_t kKeptValues = kKeptColumns + 1;  // kept[6] is the quote volume

inline bool is_digit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

// Eight ASCII digits at once (the SWAR steps of fast_float, little-endian loads): whether the
// eight bytes at p are all digits, and their value. Binance writes eight decimals everywhere.
inline bool eight_digits(const char* p, uint64_t* value) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t v;
  std::memcpy(&v, p, 8);
  if ((((v & 0xF0F0F0F0F0F0F0F0) | (((v + 0x0606060606060606) & 0xF0F0F0F0F0F0F0F0) >> 4)) != 0x3333333333333333))
    return false;
  v -= 0x3030303030303030;
  v = (v * 10) + (v >> 8);
  v = (((v & 0x000000FF000000FF) * (100 + (1000000ULL << 32))) +
       (((v >> 16) & 0x000000FF000000FF) * (1 + (10000ULL << 32)))) >> 32;
  *value = v;
  return true;
#else
  for (int i = 0; i < 8; ++i)
    if (!is_digit(p[i])) return false;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v * 10 + static_cast<uint64_t>(p[i] - '0');
  *value = v;
  return true;
#endif
}

// Past the digits at p.
inline const char* skip_digits(const char* p, const char* end) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  while (end - p >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    if ((((v & 0xF0F0F0F0F0F0F0F0) | (((v + 0x0606060606060606) & 0xF0F0F0F0F0F0F0F0) >> 4)) != 0x3333333333333333))
      break;
    p += 8;
  }
#endif
  while (p < end && is_digit(*p)) ++p;
  return p;
}

// Accumulates the digits at q into m (wrapping past 19 digits: callers count them and give up).
inline const char* accumulate_digits(const char* q, const char* end, uint64_t* m) {
  uint64_t eight;
  while (end - q >= 8 && eight_digits(q, &eight)) {
    *m = *m * 100000000 + eight;
    q += 8;
  }
  while (q < end && is_digit(*q)) *m = *m * 10 + static_cast<uint64_t>(*q++ - '0');
  return q;
}

// The end of the decimal number at p, or nullptr when p does not start one. The grammar is the
// decimal subset of JS Number(): [+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?
const char* scan_decimal(const char* p, const char* end) {
  if (p < end && (*p == '+' || *p == '-')) ++p;
  const char* q = skip_digits(p, end);
  bool digits = q != p;
  p = q;
  if (p < end && *p == '.') {
    q = skip_digits(++p, end);
    digits = digits || q != p;
    p = q;
  }
  if (!digits) return nullptr;
  if (p < end && (*p == 'e' || *p == 'E')) {
    const char* q = p + 1;
    if (q < end && (*q == '+' || *q == '-')) ++q;
    if (q >= end || !is_digit(*q)) return nullptr;  // "1e" is NaN in JS, not 1
    while (q < end && is_digit(*q)) ++q;
    p = q;
  }
  return p;
}

// Reads the number at p into *out with from_chars; returns where it ends, or nullptr when there
// is none or it does not fit a finite double. from_chars is correctly rounded, like Number(); it
// refuses a leading '+' (JS accepts it) and accepts "inf"/"nan" (JS does not), so both are
// handled here.
const char* read_decimal_slow(const char* p, const char* end, double* out) {
  const char* digits = p;
  if (p < end && *p == '+') {
    ++p;
    digits = p;
  } else if (p < end && *p == '-') {
    digits = p + 1;
  }
  if (digits >= end || !(is_digit(*digits) || *digits == '.')) return nullptr;
  const std::from_chars_result r = std::from_chars(p, end, *out, std::chars_format::general);
  if (r.ec != std::errc()) return nullptr;
  // from_chars stops before a dangling exponent ("1e"); JS reads the whole field as NaN.
  if (r.ptr < end && (*r.ptr == 'e' || *r.ptr == 'E')) return nullptr;
  return r.ptr;
}

// 10^0 .. 10^22: every one exactly a double.
constexpr double kExactPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
constexpr uint64_t kMaxExactInteger = uint64_t{1} << 53;

// Reads the number at p into *out, exactly as Number() reads it; returns where it ends, or nullptr.
// Binance's numbers ("354.99720512": at most 19 digits, no exponent) take Clinger's fast path: the
// digits as an integer m <= 2^53 and 10^k for k <= 22 are both exact doubles, so the one division
// m / 10^k is the correctly rounded value of the decimal. Anything else goes to from_chars.
inline const char* read_decimal(const char* p, const char* end, double* out) {
  const char* q = p;
  bool negative = false;
  if (q < end && (*q == '-' || *q == '+')) negative = *q++ == '-';
  const char* const first = q;
  uint64_t m = 0;
  q = accumulate_digits(q, end, &m);
  ptrdiff_t digits = q - first;
  ptrdiff_t fraction = 0;
  if (q < end && *q == '.') {
    const char* const point = ++q;
    q = accumulate_digits(q, end, &m);
    fraction = q - point;
    digits += fraction;
  }
  if (digits == 0 || digits > 19 || m > kMaxExactInteger || fraction > 22 || (q < end && (*q == 'e' || *q == 'E')))
    return read_decimal_slow(p, end, out);
  const double v = fraction > 0 ? static_cast<double>(m) / kExactPow10[fraction] : static_cast<double>(m);
  *out = negative ? -v : v;
  return q;
}

enum class RowError { kNone, kTooFewColumns, kTooManyColumns, kEmptyField, kNotNumber, kBadTime };

struct RowFailure {
  RowError error = RowError::kNone;
  int32_t field = -1;
  const char* field_begin = nullptr;
};

// Parses one line (without its line end) into the kept values. Every column must be a number.
bool parse_row(const char* p, const char* line_end, double kept[kKeptValues], RowFailure* fail) {
  for (int32_t col = 0; col < kKlineColumnCount; ++col) {
    const char* field = p;
    if (field == line_end && col < kKlineColumnCount - 1) {
      *fail = {RowError::kTooFewColumns, col, field};
      return false;
    }
    if (field == line_end || *field == ',') {
      *fail = {RowError::kEmptyField, col, field};
      return false;
    }
    const char* number_end;
    if (col < kKeptColumns) {
      number_end = read_decimal(field, line_end, &kept[col]);
    } else if (col == kQuoteColumn) {
      number_end = read_decimal(field, line_end, &kept[kKeptColumns]);
    } else {
      number_end = scan_decimal(field, line_end);
    }
    if (number_end == nullptr) {
      *fail = {RowError::kNotNumber, col, field};
      return false;
    }
    if (col < kKlineColumnCount - 1) {
      if (number_end == line_end) {
        *fail = {RowError::kTooFewColumns, col + 1, line_end};
        return false;
      }
      if (*number_end != ',') {
        *fail = {RowError::kNotNumber, col, field};
        return false;
      }
      p = number_end + 1;
    } else if (number_end != line_end) {
      *fail = {*number_end == ',' ? RowError::kTooManyColumns : RowError::kNotNumber, col, field};
      return false;
    }
  }
  const double t = kept[0];
  if (!(t >= 0 && t <= 9007199254740991.0 && t == std::floor(t))) {
    *fail = {RowError::kBadTime, 0, p};
    return false;
  }
  return true;
}

// Quotes at most 40 bytes of a field for a message, escaping anything not printable ASCII.
std::string quote_field(const char* begin, const char* line_end) {
  const char* end = static_cast<const char*>(std::memchr(begin, ',', line_end - begin));
  if (end == nullptr) end = line_end;
  std::string out = "\"";
  size_t n = 0;
  for (const char* c = begin; c < end; ++c, ++n) {
    if (n == 40) {
      out += "...";
      break;
    }
    const unsigned char u = static_cast<unsigned char>(*c);
    if (u >= 0x20 && u < 0x7f && u != '"' && u != '\\') {
      out += static_cast<char>(u);
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out + "\"";
}

size_t count_columns(const char* begin, const char* line_end) {
  size_t n = 1;
  for (const char* c = begin; c < line_end; ++c) n += *c == ',';
  return n;
}

std::string describe(const RowFailure& f, const char* line_begin, const char* line_end) {
  const std::string name = std::string("'") + kline_field_name(f.field) + "'";
  switch (f.error) {
    case RowError::kTooFewColumns:
    case RowError::kTooManyColumns:
      return "expected 12 columns but found " + std::to_string(count_columns(line_begin, line_end)) +
             (f.error == RowError::kTooFewColumns ? " (field " + name + " is missing)"
                                                  : " (more after field " + name + ")");
    case RowError::kEmptyField:
      return "field " + name + " is empty";
    case RowError::kNotNumber:
      return "field " + name + " is not a number: " + quote_field(f.field_begin, line_end);
    case RowError::kBadTime:
      return "field 'open_time' is not a timestamp (a non-negative integer): " +
             quote_field(line_begin, line_end);
    case RowError::kNone:
      break;
  }
  return "malformed row";
}

// A header is a first line whose first field is not a number and that reads as text.
bool looks_like_header(const RowFailure& f, const char* begin, const char* line_end) {
  if (f.field != 0 || (f.error != RowError::kNotNumber && f.error != RowError::kEmptyField)) return false;
  bool letter = false;
  for (const char* c = begin; c < line_end; ++c) {
    const unsigned char u = static_cast<unsigned char>(*c);
    if (u < 0x20 || u >= 0x7f) return false;
    letter = letter || ((u | 0x20) >= 'a' && (u | 0x20) <= 'z');
  }
  return letter;
}

// One line (its line end and any '\r' already cut off): a row appended, a header noted, or a
// malformed row recorded. Returns false when the parse must stop (a malformed row, not skipped).
inline bool parse_line(const char* p, const char* line_end, uint64_t line, const KlineParseOptions& options,
                       KlineParseResult& result) {
  if (line_end == p) return true;
  double kept[kKeptValues];
  RowFailure fail;
  if (parse_row(p, line_end, kept, &fail)) {
    double t = kept[0];
    if (t >= kMicrosecondThreshold) {
      t /= 1000.0;
      ++result.micro_rows;
    }
    KlineColumns& cols = result.columns;
    cols.open_time.push_back(t);
    cols.open.push_back(kept[1]);
    cols.high.push_back(kept[2]);
    cols.low.push_back(kept[3]);
    cols.close.push_back(kept[4]);
    cols.volume.push_back(kept[5]);
    cols.quote_volume.push_back(kept[6]);
    return true;
  }
  if (line == 1 && looks_like_header(fail, p, line_end)) {
    result.header = true;
    return true;
  }
  if (result.skipped == 0 && result.problem.line == 0) result.problem = {line, fail.field, describe(fail, p, line_end)};
  if (!options.skip_malformed) {
    result.status = KlineParseResult::kMalformed;
    return false;
  }
  ++result.skipped;
  return true;
}

constexpr char kBom[] = "\xEF\xBB\xBF";

// Polled every 4096 lines, so a cancel is seen within a few hundred microseconds.
inline bool cancelled_at(uint64_t line, const KlineParseOptions& options) {
  return options.cancel != nullptr && (line & 4095) == 0 && options.cancel->load(std::memory_order_relaxed);
}

}  // namespace

void KlineColumns::reserve(size_t rows) {
  for (std::vector<double>* v : {&open_time, &open, &high, &low, &close, &volume, &quote_volume}) v->reserve(rows);
}

KlineParseResult parse_klines_csv(const char* data, size_t size, const KlineParseOptions& options) {
  KlineParseResult result;
  if (data == nullptr || size == 0) return result;
  const char* p = data;
  const char* const end = data + size;
  if (size >= 3 && std::memcmp(p, kBom, 3) == 0) p += 3;

  // One pass over the line ends sizes every column exactly, so pushes never reallocate.
  size_t lines = 1;
  for (const char* q = p; q < end; ++q) {
    q = static_cast<const char*>(std::memchr(q, '\n', end - q));
    if (q == nullptr) break;
    ++lines;
  }
  result.columns.reserve(lines);

  uint64_t line = 0;
  while (p < end) {
    ++line;
    const char* newline = static_cast<const char*>(std::memchr(p, '\n', end - p));
    const char* line_end = newline ? newline : end;
    const char* next = newline ? newline + 1 : end;
    if (line_end > p && line_end[-1] == '\r') --line_end;
    if (!parse_line(p, line_end, line, options, result)) return result;
    p = next;
    if (cancelled_at(line, options)) {
      result.status = KlineParseResult::kCancelled;
      return result;
    }
  }
  return result;
}

KlineCsvStream::KlineCsvStream(const KlineParseOptions& options, size_t expected_rows) : options_(options) {
  result_.columns.reserve(expected_rows);
}

// One complete line, without its '\n'. The BOM and '\r' rules are parse_klines_csv's.
bool KlineCsvStream::line(const char* begin, const char* end) {
  ++line_;
  if (line_ == 1 && end - begin >= 3 && std::memcmp(begin, kBom, 3) == 0) begin += 3;
  if (end > begin && end[-1] == '\r') --end;
  if (!parse_line(begin, end, line_, options_, result_)) {
    stopped_ = true;
    return false;
  }
  if (cancelled_at(line_, options_)) {
    result_.status = KlineParseResult::kCancelled;
    stopped_ = true;
    return false;
  }
  return true;
}

// Room in every column for each line the piece completes, so no push reallocates mid-piece;
// when the expected count was short (duplicated rows), the columns grow by an eighth at a time.
void KlineCsvStream::make_room(const char* data, size_t size) {
  size_t lines = 1;  // the carried line, completed by this piece
  for (const char* q = data, *end = data + size; q < end; ++q) {
    q = static_cast<const char*>(std::memchr(q, '\n', end - q));
    if (q == nullptr) break;
    ++lines;
  }
  KlineColumns& cols = result_.columns;
  const size_t needed = cols.size() + lines;
  if (needed > cols.capacity()) cols.reserve(std::max(needed, cols.capacity() + cols.capacity() / 8));
}

bool KlineCsvStream::feed(const char* data, size_t size) {
  if (stopped_) return false;
  if (data == nullptr || size == 0) return true;
  const char* p = data;
  const char* const end = data + size;
  const char* newline = static_cast<const char*>(std::memchr(p, '\n', size));
  if (newline == nullptr) {
    carry_.append(p, size);
    return true;
  }
  make_room(data, size);
  if (!carry_.empty()) {
    carry_.append(p, newline - p);
    const bool ok = line(carry_.data(), carry_.data() + carry_.size());
    carry_.clear();
    if (!ok) return false;
  } else if (!line(p, newline)) {
    return false;
  }
  p = newline + 1;
  while (p < end) {
    newline = static_cast<const char*>(std::memchr(p, '\n', end - p));
    if (newline == nullptr) {
      carry_.assign(p, end - p);
      break;
    }
    if (!line(p, newline)) return false;
    p = newline + 1;
  }
  return true;
}

KlineParseResult KlineCsvStream::finish() {
  if (!stopped_ && !carry_.empty()) {
    result_.columns.reserve(result_.columns.size() + 1);
    line(carry_.data(), carry_.data() + carry_.size());
  }
  std::string().swap(carry_);
  stopped_ = true;
  return std::move(result_);
}

}  // namespace ohlc
