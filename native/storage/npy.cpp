#include "storage/npy.hpp"

#include <cstring>

#include "storage/sink.hpp"

namespace ohlc::storage::npy {

std::string header(const std::string& descr, const std::vector<uint64_t>& shape, size_t min_total) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) {
    dict += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) dict += ",";
    if (i + 1 < shape.size()) dict += " ";
  }
  dict += "), }";
  // Version 1.0 has a 2-byte length (preamble 10 bytes); 2.0 a 4-byte one (preamble 12).
  const bool v2 = dict.size() + 1 + 10 + 64 > 65535;
  const size_t preamble = v2 ? 12 : 10;
  size_t total = preamble + dict.size() + 1;
  if (total < min_total) total = min_total;
  total = (total + 63) / 64 * 64;
  const size_t len = total - preamble;
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(v2 ? 2 : 1);
  out += static_cast<char>(0);
  if (v2) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((len >> (8 * i)) & 0xff);
  } else {
    out += static_cast<char>(len & 0xff);
    out += static_cast<char>((len >> 8) & 0xff);
  }
  out += dict;
  out.append(total - out.size() - 1, ' ');
  out += '\n';
  return out;
}

namespace {

// Finds `'key':` in the dict and returns the position just after the colon.
size_t find_key(const std::string& dict, const char* key, const std::string& what) {
  const std::string needle = std::string("'") + key + "'";
  size_t p = dict.find(needle);
  if (p == std::string::npos) throw StorageError(what + ": .npy header has no " + key);
  p = dict.find(':', p + needle.size());
  if (p == std::string::npos) throw StorageError(what + ": malformed .npy header");
  return p + 1;
}

}  // namespace

Header parse(const uint8_t* data, size_t size, const std::string& what) {
  if (size < 10 || std::memcmp(data, "\x93NUMPY", 6) != 0)
    throw StorageError(what + ": not a .npy array (bad magic)");
  const int major = data[6];
  size_t len, preamble;
  if (major == 1) {
    len = data[8] | (static_cast<size_t>(data[9]) << 8);
    preamble = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) throw StorageError(what + ": truncated .npy header");
    len = data[8] | (static_cast<size_t>(data[9]) << 8) | (static_cast<size_t>(data[10]) << 16) |
          (static_cast<size_t>(data[11]) << 24);
    preamble = 12;
  } else {
    throw StorageError(what + ": unsupported .npy version " + std::to_string(major));
  }
  if (preamble + len > size) throw StorageError(what + ": truncated .npy header");
  const std::string dict(reinterpret_cast<const char*>(data + preamble), len);
  Header h;
  h.header_bytes = preamble + len;
  size_t p = find_key(dict, "descr", what);
  const size_t q1 = dict.find('\'', p);
  const size_t q2 = q1 == std::string::npos ? q1 : dict.find('\'', q1 + 1);
  if (q2 == std::string::npos) throw StorageError(what + ": malformed descr in .npy header");
  h.descr = dict.substr(q1 + 1, q2 - q1 - 1);
  p = find_key(dict, "fortran_order", what);
  h.fortran_order = dict.compare(dict.find_first_not_of(' ', p), 4, "True") == 0;
  p = find_key(dict, "shape", what);
  const size_t open = dict.find('(', p);
  const size_t close = open == std::string::npos ? open : dict.find(')', open);
  if (close == std::string::npos) throw StorageError(what + ": malformed shape in .npy header");
  uint64_t value = 0;
  bool digits = false;
  for (size_t i = open + 1; i <= close; ++i) {
    const char c = dict[i];
    if (c >= '0' && c <= '9') {
      // A size past 2^63 is no array anyone wrote; refusing it keeps the products below exact.
      if (value > (uint64_t{1} << 63) / 10) throw StorageError(what + ": shape in .npy header is out of range");
      value = value * 10 + static_cast<uint64_t>(c - '0');
      digits = true;
    } else if (c == ',' || c == ')') {
      if (digits) h.shape.push_back(value);
      value = 0;
      digits = false;
    } else if (c != ' ' && c != 'L') {
      throw StorageError(what + ": malformed shape in .npy header");
    }
  }
  return h;
}

std::string unicode_scalar(const std::string& utf8, std::string* descr) {
  std::string out;
  size_t count = 0;
  for (size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    uint32_t cp;
    size_t n;
    if (c < 0x80) { cp = c; n = 1; }
    else if ((c >> 5) == 6) { cp = c & 0x1f; n = 2; }
    else if ((c >> 4) == 14) { cp = c & 0x0f; n = 3; }
    else { cp = c & 0x07; n = 4; }
    for (size_t k = 1; k < n && i + k < utf8.size(); ++k) cp = (cp << 6) | (utf8[i + k] & 0x3f);
    i += n;
    for (int b = 0; b < 4; ++b) out += static_cast<char>((cp >> (8 * b)) & 0xff);
    ++count;
  }
  *descr = "<U" + std::to_string(count == 0 ? 1 : count);
  if (count == 0) out.assign(4, '\0');
  return out;
}

std::string decode_unicode(const uint8_t* data, size_t bytes) {
  std::string out;
  for (size_t i = 0; i + 4 <= bytes; i += 4) {
    const uint32_t cp = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (static_cast<uint32_t>(data[i + 3]) << 24);
    if (cp == 0) break;
    if (cp < 0x80) out += static_cast<char>(cp);
    else if (cp < 0x800) { out += static_cast<char>(0xc0 | (cp >> 6)); out += static_cast<char>(0x80 | (cp & 0x3f)); }
    else if (cp < 0x10000) { out += static_cast<char>(0xe0 | (cp >> 12)); out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f)); out += static_cast<char>(0x80 | (cp & 0x3f)); }
    else { out += static_cast<char>(0xf0 | (cp >> 18)); out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f)); out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f)); out += static_cast<char>(0x80 | (cp & 0x3f)); }
  }
  return out;
}

}  // namespace ohlc::storage::npy
