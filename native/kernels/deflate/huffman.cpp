#include "kernels/deflate/huffman.hpp"

#include <algorithm>
#include <cstring>

namespace ohlc::deflate {

namespace {

constexpr int kMaxSymbols = 288;

uint32_t reverse16(uint32_t x, int len) {
  x = ((x & 0x5555u) << 1) | ((x >> 1) & 0x5555u);
  x = ((x & 0x3333u) << 2) | ((x >> 2) & 0x3333u);
  x = ((x & 0x0F0Fu) << 4) | ((x >> 4) & 0x0F0Fu);
  x = ((x & 0x00FFu) << 8) | ((x >> 8) & 0x00FFu);
  return x >> (16 - len);
}

// Calls f(s) for each s < n with lengths[s] != 0, in ascending order.
template <typename F>
void for_each_used(const uint8_t* lengths, int n, F&& f) {
  int s = 0;
  for (; s + 8 <= n; s += 8) {
    uint64_t word;
    std::memcpy(&word, lengths + s, 8);
    if (!word) continue;
    for (int i = 0; i < 8; ++i)
      if (lengths[s + i]) f(s + i);
  }
  for (; s < n; ++s)
    if (lengths[s]) f(s);
}

}  // namespace

void build_code_lengths(const uint32_t* freq, int n, int max_len, uint8_t* lengths) {
  std::memset(lengths, 0, static_cast<size_t>(n));
  // Frequency in the high bits, symbol in the low 16: one integer sort orders by frequency.
  uint64_t keys[kMaxSymbols];
  int used = 0;
  auto take = [&](int s) {
    if (freq[s]) keys[used++] = (static_cast<uint64_t>(freq[s]) << 16) | static_cast<uint64_t>(s);
  };
  // Most symbols are unused: four at a time are skipped with one test.
  int group = 0;
  for (; group + 4 <= n; group += 4) {
    uint64_t pair[2];
    std::memcpy(pair, freq + group, sizeof pair);
    if (!(pair[0] | pair[1])) continue;
    for (int i = 0; i < 4; ++i) take(group + i);
  }
  for (int s = group; s < n; ++s) take(s);
  if (used < 2) {
    const int s = used == 1 ? static_cast<int>(keys[0] & 0xFFFF) : 0;
    lengths[s] = 1;
    lengths[s == 0 ? 1 : 0] = 1;
    return;
  }
  std::sort(keys, keys + used);

  // Two-queue Huffman construction: leaves 0..used-1 in ascending weight, internal nodes are
  // created in ascending weight too, so each step takes the two lightest queue heads.
  uint64_t weight[2 * kMaxSymbols];
  uint16_t parent[2 * kMaxSymbols];
  for (int i = 0; i < used; ++i) weight[i] = keys[i] >> 16;
  int next_leaf = 0, next_inner = used;
  const int root = 2 * used - 2;
  for (int k = used; k <= root; ++k) {
    int pair[2];
    for (int& pick : pair) {
      if (next_leaf < used && (next_inner >= k || weight[next_leaf] <= weight[next_inner]))
        pick = next_leaf++;
      else
        pick = next_inner++;
    }
    weight[k] = weight[pair[0]] + weight[pair[1]];
    parent[pair[0]] = parent[pair[1]] = static_cast<uint16_t>(k);
  }
  // Parents always have higher indices, so one downward pass yields every depth.
  uint16_t depth[2 * kMaxSymbols];
  depth[root] = 0;
  // A leaf is at most used - 1 deep: only that much of the histogram needs clearing.
  int count[kMaxSymbols];
  std::fill_n(count, used, 0);
  int max_depth = 0;
  for (int k = root - 1; k >= 0; --k) {
    depth[k] = static_cast<uint16_t>(depth[parent[k]] + 1);
    if (k < used) {
      ++count[depth[k]];
      max_depth = std::max<int>(max_depth, depth[k]);
    }
  }

  // Limit the depth on the histogram alone, keeping the tree full: two sibling leaves at the
  // deepest level go, their parent becomes a leaf, and the other leaf hangs under a shallower
  // leaf (which turns into an inner node). Deepest levels of a full tree have even counts.
  for (int i = max_depth; i > max_len; --i) {
    while (count[i] > 0) {
      int j = i - 2;
      while (count[j] == 0) --j;
      count[i] -= 2;
      count[i - 1] += 1;
      count[j + 1] += 2;
      count[j] -= 1;
    }
  }

  // Rarest symbols get the longest codes.
  int idx = 0;
  for (int len = std::min(max_depth, max_len); len >= 1; --len)
    for (int c = 0; c < count[len]; ++c)
      lengths[keys[idx++] & 0xFFFF] = static_cast<uint8_t>(len);
}

void canonical_codes(const uint8_t* lengths, int n, uint16_t* codes) {
  // A block uses a few dozen of the 286 litlen symbols: both passes skip unused ones eight at
  // a time (a byte-by-byte walk was 4% of the geometry encoder's time).
  std::memset(codes, 0, static_cast<size_t>(n) * sizeof(uint16_t));
  int bl_count[16] = {};
  for_each_used(lengths, n, [&](int s) { ++bl_count[lengths[s]]; });
  uint32_t next[16] = {};
  uint32_t code = 0;
  for (int bits = 1; bits < 16; ++bits) {
    code = (code + static_cast<uint32_t>(bl_count[bits - 1])) << 1;
    next[bits] = code;
  }
  for_each_used(lengths, n, [&](int s) {
    const int len = lengths[s];
    codes[s] = static_cast<uint16_t>(reverse16(next[len]++, len));
  });
}

}  // namespace ohlc::deflate
