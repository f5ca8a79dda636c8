#pragma once
#include <filesystem>
#include <string>
#include <string_view>

#include "runtime/ids.hpp"

// The node's HMAC secrets (token signing, signed media URLs): 32 random bytes in a file of mode
// 0600 under <data_dir>/keys, created on first use.
namespace omnicast::control {

// Throws std::runtime_error naming the file: unreadable, too short, or readable by others.
std::string load_or_create_secret(const std::filesystem::path& key_file, runtime::Rng& rng);

// HMAC-SHA256 of `input` under `secret` (32 raw bytes).
std::string hmac_sha256(std::string_view secret, std::string_view input);

}  // namespace omnicast::control
