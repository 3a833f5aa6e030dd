// A stored dataset's content digest, recomputed from the file the way DatasetWriter computes it
// while writing (dataset_writer.hpp): images as their stored chunks, the other arrays as raw rows.
// `ohlc-native verify` compares it with the manifest.
#pragma once

#include <string>

#include "storage/dataset_writer.hpp"

namespace ohlc::storage {

ContentDigest digest_hdf5(const std::string& path);
ContentDigest digest_npz(const std::string& path);

// The digest over "<name> <hex>\n" lines, as the writer forms it.
std::string combine_digests(const ContentDigest& d);

}  // namespace ohlc::storage
