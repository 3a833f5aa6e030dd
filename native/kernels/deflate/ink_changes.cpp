#include "kernels/deflate/ink_changes.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ohlc::deflate {

namespace {

// Lowest set bit at or after `from` in a row of `width` bits; width when none.
int32_t next_set_bit(const uint64_t* bits, uint32_t width, uint32_t from) {
  if (from >= width) return static_cast<int32_t>(width);
  size_t w = from >> 6;
  uint64_t word = bits[w] & (~uint64_t{0} << (from & 63));
  const size_t words = (static_cast<size_t>(width) + 63) >> 6;
  while (!word) {
    if (++w == words) return static_cast<int32_t>(width);
    word = bits[w];
  }
  return static_cast<int32_t>((w << 6) + static_cast<size_t>(__builtin_ctzll(word)));
}

// Highest set bit at or before `from`; -1 when none.
int32_t prev_set_bit(const uint64_t* bits, uint32_t from) {
  size_t w = from >> 6;
  const unsigned shift = 63 - (from & 63);
  uint64_t word = (bits[w] << shift) >> shift;
  while (!word) {
    if (w == 0) return -1;
    word = bits[--w];
  }
  return static_cast<int32_t>((w << 6) + 63 - static_cast<size_t>(__builtin_clzll(word)));
}

}  // namespace

void InkChanges::build(const InkRun* runs, size_t count, uint32_t width, uint32_t height) {
  if (width < 1 || height < 1) throw std::invalid_argument("InkChanges: empty image");
  if ((uint64_t{width} * height) >> 62) throw std::invalid_argument("InkChanges: image too large");
  if (width > (1u << 31) - 1) throw std::invalid_argument("InkChanges: image too wide");
  uint32_t last_column = 0;
  for (size_t i = 0; i < count; ++i) {
    const InkRun& r = runs[i];
    if (r.column >= width || r.top > r.bottom || r.bottom >= height || r.column < last_column)
      throw std::invalid_argument(
          "InkChanges: run " + std::to_string(i) + " (column " + std::to_string(r.column) +
          ", rows " + std::to_string(r.top) + ".." + std::to_string(r.bottom) +
          ") is outside the " + std::to_string(width) + "x" + std::to_string(height) +
          " image or before the previous run's column");
    last_column = r.column;
  }
  width_ = width;
  height_ = height;

  // A run starts on its top row and ends on the row below its bottom.
  if (events_.size() < 2 * count) events_.resize(2 * count);
  Event* ev = events_.data();
  size_t n_events = 0;
  for (size_t i = 0; i < count; ++i) {
    const InkRun& r = runs[i];
    ev[n_events++] = {r.top, r.column, +1};
    if (r.bottom + 1 < height) ev[n_events++] = {r.bottom + 1, r.column, -1};
  }
  // Into row order, keeping the input (column) order within a row.
  if (sorted_.size() < n_events) sorted_.resize(n_events);
  Event* sorted = sorted_.data();
  if (height <= std::max<size_t>(1u << 16, 4 * n_events)) {
    if (row_start_.size() < size_t{height} + 1) row_start_.resize(size_t{height} + 1);
    uint32_t* start = row_start_.data();
    std::memset(start, 0, (size_t{height} + 1) * sizeof(uint32_t));
    for (size_t i = 0; i < n_events; ++i) ++start[ev[i].row + 1];
    for (uint32_t r = 0; r < height; ++r) start[r + 1] += start[r];
    for (size_t i = 0; i < n_events; ++i) sorted[start[ev[i].row]++] = ev[i];
  } else {
    std::copy(ev, ev + n_events, sorted);
    std::stable_sort(sorted, sorted + n_events,
                     [](const Event& a, const Event& b) { return a.row < b.row; });
  }

  // Walk the events row by row with a coverage count per column: a pixel flips where its
  // count goes between zero and positive.
  cover_.assign(width, 0);
  int32_t* cover = cover_.data();
  bits_.assign((size_t{width} + 63) >> 6, 0);
  uint64_t* bits = bits_.data();
  if (changes_.size() < n_events) changes_.resize(n_events);
  if (rows_.size() < n_events + 1) rows_.resize(n_events + 1);
  InkChange* changes = changes_.data();
  ChangedRow* rows = rows_.data();
  size_t n_changes = 0, n_rows = 1;
  rows[0] = {0, 0, 0, static_cast<int32_t>(width), -1, 0};
  int32_t first = static_cast<int32_t>(width), last = -1;
  for (size_t i = 0; i < n_events;) {
    const uint32_t row = sorted[i].row;
    const size_t begin = n_changes;
    const uint64_t row_pixel = uint64_t{row} * width;
    while (i < n_events && sorted[i].row == row) {
      const uint32_t column = sorted[i].column;
      int32_t delta = 0;
      for (; i < n_events && sorted[i].row == row && sorted[i].column == column; ++i)
        delta += sorted[i].delta;
      const int32_t before = cover[column];
      cover[column] = before + delta;
      const uint32_t was_ink = before > 0, is_ink = before + delta > 0;
      if (was_ink != is_ink) {
        changes[n_changes++] = {row_pixel + column, row, column << 1 | is_ink};
        bits[column >> 6] ^= uint64_t{1} << (column & 63);
      }
    }
    if (n_changes == begin) continue;
    // Columns left of the first change (right of the last) kept their bits, so the extent only
    // moves when a change reaches it.
    const uint32_t lo = changes[begin].column(), hi = changes[n_changes - 1].column();
    if (static_cast<int32_t>(lo) <= first) first = next_set_bit(bits, width, lo);
    if (static_cast<int32_t>(hi) >= last) last = prev_set_bit(bits, hi);
    if (first > last) {  // blank
      first = static_cast<int32_t>(width);
      last = -1;
    }
    const ChangedRow cr{row, static_cast<uint32_t>(begin), static_cast<uint32_t>(n_changes),
                        first, last, 0};
    if (row == 0) rows[0] = cr;
    else rows[n_rows++] = cr;
  }
  uint32_t next = static_cast<uint32_t>(n_rows);
  for (size_t k = n_rows; k-- > 0;) {
    rows[k].next_inked = next;
    if (rows[k].last_ink >= 0) next = static_cast<uint32_t>(k);
  }
  n_changes_ = n_changes;
  n_rows_ = n_rows;
}

void InkChanges::build_bars(const BarRows* bars, uint32_t seq_len, uint32_t height) {
  if (seq_len < 1 || seq_len > (1u << 29)) throw std::invalid_argument("InkChanges: bad seq_len");
  const int32_t h = static_cast<int32_t>(height);
  bar_runs_.resize(size_t{3} * seq_len);
  InkRun* out = bar_runs_.data();
  for (uint32_t j = 0; j < seq_len; ++j) {
    const BarRows& b = bars[j];
    if (b.line_top < 0 || b.line_top > b.line_bottom || b.line_bottom >= h || b.open < 0 ||
        b.open >= h || b.close < 0 || b.close >= h)
      throw std::invalid_argument("InkChanges: bar " + std::to_string(j) + " (rows " +
                                  std::to_string(b.line_top) + ".." +
                                  std::to_string(b.line_bottom) + ", open " +
                                  std::to_string(b.open) + ", close " + std::to_string(b.close) +
                                  ") does not fit a height of " + std::to_string(height));
    const uint32_t x = 4 * j;
    out[3 * j] = {x, static_cast<uint32_t>(b.line_top), static_cast<uint32_t>(b.line_bottom)};
    out[3 * j + 1] = {x + 1, static_cast<uint32_t>(b.open), static_cast<uint32_t>(b.open)};
    out[3 * j + 2] = {x + 2, static_cast<uint32_t>(b.close), static_cast<uint32_t>(b.close)};
  }
  build(bar_runs_.data(), bar_runs_.size(), 4 * seq_len, height);
}

void InkChanges::render(uint8_t bg, uint8_t ink, uint8_t* out) const {
  const size_t w = width_;
  size_t next = 0;
  for (uint32_t r = 0; r < height_; ++r) {
    uint8_t* row = out + r * w;
    if (r == 0) std::memset(row, bg, w);
    else std::memcpy(row, row - w, w);
    for (; next < n_changes_ && changes_[next].row == r; ++next)
      row[changes_[next].column()] = changes_[next].to_ink() ? ink : bg;
  }
}

}  // namespace ohlc::deflate
