#include "kernels/klines_csv.hpp"

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

// Columns 0..5 are kept; the rest are only checked.
constexpr int32_t kKeptColumns = 6;

inline bool is_digit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

// The end of the decimal number at p, or nullptr when p does not start one. The grammar is the
// decimal subset of JS Number(): [+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?
const char* scan_decimal(const char* p, const char* end) {
  if (p < end && (*p == '+' || *p == '-')) ++p;
  bool digits = false;
  while (p < end && is_digit(*p)) {
    ++p;
    digits = true;
  }
  if (p < end && *p == '.') {
    ++p;
    while (p < end && is_digit(*p)) {
      ++p;
      digits = true;
    }
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

// Reads the number at p into *out; returns where it ends, or nullptr when there is none or it
// does not fit a finite double. from_chars is correctly rounded, like Number(); it refuses a
// leading '+' (JS accepts it) and accepts "inf"/"nan" (JS does not), so both are handled here.
const char* read_decimal(const char* p, const char* end, double* out) {
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

enum class RowError { kNone, kTooFewColumns, kTooManyColumns, kEmptyField, kNotNumber, kBadTime };

struct RowFailure {
  RowError error = RowError::kNone;
  int32_t field = -1;
  const char* field_begin = nullptr;
};

// Parses one line (without its line end) into the kept values. Every column must be a number.
bool parse_row(const char* p, const char* line_end, double kept[kKeptColumns], RowFailure* fail) {
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

}  // namespace

KlineParseResult parse_klines_csv(const char* data, size_t size, const KlineParseOptions& options) {
  KlineParseResult result;
  if (data == nullptr || size == 0) return result;
  const char* p = data;
  const char* const end = data + size;
  if (size >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;

  // One pass over the line ends sizes every column exactly, so pushes never reallocate.
  size_t lines = 1;
  for (const char* q = p; q < end; ++q) {
    q = static_cast<const char*>(std::memchr(q, '\n', end - q));
    if (q == nullptr) break;
    ++lines;
  }
  KlineColumns& cols = result.columns;
  for (std::vector<double>* v : {&cols.open_time, &cols.open, &cols.high, &cols.low, &cols.close, &cols.volume})
    v->reserve(lines);

  uint64_t line = 0;
  while (p < end) {
    ++line;
    const char* newline = static_cast<const char*>(std::memchr(p, '\n', end - p));
    const char* line_end = newline ? newline : end;
    const char* next = newline ? newline + 1 : end;
    if (line_end > p && line_end[-1] == '\r') --line_end;

    if (line_end != p) {
      double kept[kKeptColumns];
      RowFailure fail;
      if (parse_row(p, line_end, kept, &fail)) {
        double t = kept[0];
        if (t >= kMicrosecondThreshold) {
          t /= 1000.0;
          ++result.micro_rows;
        }
        cols.open_time.push_back(t);
        cols.open.push_back(kept[1]);
        cols.high.push_back(kept[2]);
        cols.low.push_back(kept[3]);
        cols.close.push_back(kept[4]);
        cols.volume.push_back(kept[5]);
      } else if (line == 1 && looks_like_header(fail, p, line_end)) {
        result.header = true;
      } else {
        if (result.skipped == 0 && result.problem.line == 0)
          result.problem = {line, fail.field, describe(fail, p, line_end)};
        if (!options.skip_malformed) {
          result.status = KlineParseResult::kMalformed;
          return result;
        }
        ++result.skipped;
      }
    }
    p = next;
    if (options.cancel != nullptr && (line & 4095) == 0 &&
        options.cancel->load(std::memory_order_relaxed)) {
      result.status = KlineParseResult::kCancelled;
      return result;
    }
  }
  return result;
}

}  // namespace ohlc
