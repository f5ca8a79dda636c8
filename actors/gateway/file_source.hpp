#pragma once
#include <filesystem>
#include <memory>
#include <string_view>
#include <system_error>

#include "actors/gateway/http.hpp"

namespace omnicast::gateway {

// A response body read from a regular file with pread, in constant memory. Returns nullptr and
// sets ec when the file cannot be opened or is not a regular file.
std::shared_ptr<BodySource> open_file_source(const std::filesystem::path& file, std::error_code& ec);

// The Content-Type of a static web file, by its extension (application/octet-stream otherwise).
std::string_view web_content_type(const std::filesystem::path& file);

}  // namespace omnicast::gateway
