#include "kernels/deflate/ink_changes.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ohlc::deflate {

namespace {

[[noreturn]] void bad_run(size_t i, const InkRun& r, uint32_t width, uint32_t height) {
  throw std::invalid_argument("InkChanges: run " + std::to_string(i) + " (column " +
                              std::to_string(r.column) + ", rows " + std::to_string(r.top) +
                              ".." + std::to_string(r.bottom) + ") is outside the " +
                              std::to_string(width) + "x" + std::to_string(height) +
                              " image or before the previous run's column");
}

void check_size(uint32_t width, uint32_t height) {
  if (width < 1 || height < 1) throw std::invalid_argument("InkChanges: empty image");
  if (width > (1u << 31) - 1) throw std::invalid_argument("InkChanges: image too wide");
  if ((uint64_t{width} * height) >> 62) throw std::invalid_argument("InkChanges: image too large");
}

}  // namespace

void InkChanges::build(const InkRun* runs, size_t count, uint32_t width, uint32_t height) {
  check_size(width, height);
  bool shared_column = false;
  for (size_t i = 0; i < count; ++i) {
    const InkRun& r = runs[i];
    if (r.column >= width || r.top > r.bottom || r.bottom >= height ||
        (i && r.column < runs[i - 1].column))
      bad_run(i, r, width, height);
    shared_column |= i && r.column == runs[i - 1].column;
  }
  if (!shared_column) {
    build_checked(runs, count, width, height);
    return;
  }
  // Several runs in a column: their union, as disjoint runs with a row between them.
  merged_.clear();
  for (size_t i = 0; i < count;) {
    size_t j = i;
    while (j < count && runs[j].column == runs[i].column) ++j;
    const size_t base = merged_.size();
    merged_.insert(merged_.end(), runs + i, runs + j);
    std::sort(merged_.begin() + static_cast<std::ptrdiff_t>(base), merged_.end(),
              [](const InkRun& a, const InkRun& b) { return a.top < b.top; });
    size_t out = base;
    for (size_t k = base + 1; k < merged_.size(); ++k) {
      if (merged_[k].top <= merged_[out].bottom + 1)
        merged_[out].bottom = std::max(merged_[out].bottom, merged_[k].bottom);
      else
        merged_[++out] = merged_[k];
    }
    merged_.resize(out + 1);
    i = j;
  }
  build_checked(merged_.data(), merged_.size(), width, height);
}

// Room for `changes` changes and `height` rows; no row starts a change yet, and every row's ink
// extent is empty (first = width, last = -1).
void InkChanges::reset(size_t changes, uint32_t width, uint32_t height) {
  const size_t rows = height;
  if (unsorted_.size() < changes) unsorted_.resize(changes);
  if (row_start_.size() < rows + 1) row_start_.resize(rows + 1);
  if (first_ink_.size() < rows) {
    first_ink_.resize(rows);
    last_ink_.resize(rows);
    next_inked_.resize(rows);
  }
  std::memset(row_start_.data(), 0, (rows + 1) * sizeof(uint32_t));
  std::fill(first_ink_.begin(), first_ink_.begin() + rows, static_cast<int32_t>(width));
  std::fill(last_ink_.begin(), last_ink_.begin() + rows, -1);
}

// Runs valid, in column order, disjoint and apart within a column: each gives exactly two
// changes (its top, and the row below its bottom).
void InkChanges::build_checked(const InkRun* runs, size_t count, uint32_t width,
                               uint32_t height) {
  reset(2 * count, width, height);
  InkChange* ev = unsorted_.data();
  uint32_t* start = row_start_.data();
  int32_t* first = first_ink_.data();
  int32_t* last = last_ink_.data();

  size_t n = 0;
  for (size_t i = 0; i < count; ++i) {
    const InkRun& r = runs[i];
    const int32_t col = static_cast<int32_t>(r.column);
    ev[n++] = {0, r.top, r.column << 1 | 1};
    ++start[r.top + 1];
    if (r.bottom + 1 < height) {
      ev[n++] = {0, r.bottom + 1, r.column << 1};
      ++start[r.bottom + 2];
    }
    // Runs come in column order: the last one to cover a row is its rightmost ink.
    std::fill(last + r.top, last + r.bottom + 1, col);
  }
  // ... and the first one its leftmost: the same fill backwards.
  for (size_t i = count; i-- > 0;)
    std::fill(first + runs[i].top, first + runs[i].bottom + 1, static_cast<int32_t>(runs[i].column));
  finish(n, width, height);
}

// Stable counting sort of the n changes in unsorted_ by row (row_start_ holds the count of
// each row one slot on), then the rows' next inked row.
void InkChanges::finish(size_t n, uint32_t width, uint32_t height) {
  const size_t rows = height;
  uint32_t* start = row_start_.data();
  const InkChange* ev = unsorted_.data();
  const int32_t* last = last_ink_.data();
  // Within a row the columns keep their (ascending) order.
  uint32_t sum = 0;
  for (size_t y = 0; y <= rows; ++y) {
    sum += start[y];
    start[y] = sum;
  }
  if (changes_.size() < n) changes_.resize(n);
  InkChange* out = changes_.data();
  for (size_t i = 0; i < n; ++i) {
    InkChange c = ev[i];
    c.pixel = uint64_t{c.row} * width + c.column();
    out[start[c.row]++] = c;
  }
  uint32_t next = height;
  uint32_t* next_inked = next_inked_.data();
  for (size_t y = rows; y-- > 0;) {
    next_inked[y] = next;
    if (last[y] >= 0) next = static_cast<uint32_t>(y);
  }
  n_changes_ = n;
  width_ = width;
  height_ = height;
}

void InkChanges::build_bars(const BarRows* bars, uint32_t seq_len, uint32_t height) {
  if (seq_len < 1 || seq_len > (1u << 29)) throw std::invalid_argument("InkChanges: bad seq_len");
  const uint32_t width = 4 * seq_len;
  check_size(width, height);
  const int32_t h = static_cast<int32_t>(height);
  for (uint32_t j = 0; j < seq_len; ++j) {
    const BarRows& b = bars[j];
    if (b.line_top < 0 || b.line_top > b.line_bottom || b.line_bottom >= h || b.open < 0 ||
        b.open >= h || b.close < 0 || b.close >= h)
      throw std::invalid_argument("InkChanges: bar " + std::to_string(j) + " (rows " +
                                  std::to_string(b.line_top) + ".." +
                                  std::to_string(b.line_bottom) + ", open " +
                                  std::to_string(b.open) + ", close " + std::to_string(b.close) +
                                  ") does not fit a height of " + std::to_string(height));
  }
  // The same as build() on the bars' runs (line, open tick, close tick; one per column, in
  // column order), with the extents filled per bar instead of per run.
  reset(size_t{6} * seq_len, width, height);
  InkChange* ev = unsorted_.data();
  uint32_t* start = row_start_.data();
  int32_t* first = first_ink_.data();
  int32_t* last = last_ink_.data();
  size_t n = 0;
  auto run = [&](uint32_t column, uint32_t top, uint32_t bottom) {
    ev[n++] = {0, top, column << 1 | 1};
    ++start[top + 1];
    if (bottom + 1 < height) {
      ev[n++] = {0, bottom + 1, column << 1};
      ++start[bottom + 2];
    }
  };
  for (uint32_t j = 0; j < seq_len; ++j) {
    const BarRows& b = bars[j];
    const uint32_t x = 4 * j;
    run(x, static_cast<uint32_t>(b.line_top), static_cast<uint32_t>(b.line_bottom));
    run(x + 1, static_cast<uint32_t>(b.open), static_cast<uint32_t>(b.open));
    run(x + 2, static_cast<uint32_t>(b.close), static_cast<uint32_t>(b.close));
    // Rightmost ink: the last column to cover a row, so plain stores in column order.
    // (A count, not y <= bottom: a loop the compiler can count is one it vectorises.)
    std::fill_n(last + b.line_top, b.line_bottom - b.line_top + 1, static_cast<int32_t>(x));
    last[b.open] = static_cast<int32_t>(x + 1);
    last[b.close] = static_cast<int32_t>(x + 2);
  }
  for (uint32_t j = seq_len; j-- > 0;) {  // leftmost: the same backwards
    const BarRows& b = bars[j];
    const int32_t x = static_cast<int32_t>(4 * j);
    first[b.close] = x + 2;
    first[b.open] = x + 1;
    std::fill_n(first + b.line_top, b.line_bottom - b.line_top + 1, x);
  }
  finish(n, width, height);
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
