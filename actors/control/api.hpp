#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

// What every control-plane operation speaks: JSON documents, errors with an HTTP status and a
// stable code, and a response a transport (REST, MCP, WebSocket) renders in its own framing.
namespace omnicast::control {

using Json = nlohmann::json;

struct ApiError {
  unsigned status = 400;
  std::string code;
  std::string message;
  Json details;                // null, or an object of machine-readable context
  unsigned retry_after_s = 0;  // 429: seconds to wait
};

struct Response {
  unsigned status = 200;
  Json body;                   // the result document, or {"error":{...}}
  unsigned retry_after_s = 0;
  std::string error_code;      // empty on success
  std::string correlation_id;  // the call's: meta.correlation_id when it had valid meta

  bool ok() const noexcept { return error_code.empty(); }
};

// {"error":{"code","message","correlation_id","details"?}} with the error's status.
Response error_response(const ApiError& e, const std::string& correlation_id);

// A precise 400 for a bad argument or meta field.
inline ApiError invalid_argument(std::string message) { return {400, "invalid_argument", std::move(message), nullptr, 0}; }
inline ApiError invalid_meta(std::string message) { return {400, "invalid_meta", std::move(message), nullptr, 0}; }

// Thrown while parsing a request; the transport turns it into an error response.
struct ApiException {
  ApiError error;
};

// Reads an argument of a JSON object, with errors naming it ("session_id must be a string").
// `where` prefixes the name ("meta.scope.").
const std::string* get_string(const Json& obj, const char* name, bool required, const char* where = "");
std::optional<bool> get_bool(const Json& obj, const char* name, const char* where = "");

}  // namespace omnicast::control
