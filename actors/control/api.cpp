#include "actors/control/api.hpp"

namespace omnicast::control {

Response error_response(const ApiError& e, const std::string& correlation_id) {
  Response r;
  r.status = e.status;
  r.error_code = e.code;
  r.retry_after_s = e.retry_after_s;
  Json err = {{"code", e.code}, {"message", e.message}, {"correlation_id", correlation_id}};
  if (!e.details.is_null()) err["details"] = e.details;
  r.body = Json{{"error", std::move(err)}};
  return r;
}

const std::string* get_string(const Json& obj, const char* name, bool required, const char* where) {
  auto it = obj.find(name);
  const bool is_meta = std::string_view(where).rfind("meta", 0) == 0;
  auto fail = [&](const std::string& what) -> ApiException {
    const std::string msg = std::string(where) + name + " " + what;
    return {is_meta ? invalid_meta(msg) : invalid_argument(msg)};
  };
  if (it == obj.end() || it->is_null()) {
    if (required) throw fail("is required");
    return nullptr;
  }
  if (!it->is_string()) throw fail("must be a string");
  return it->get_ptr<const std::string*>();
}

std::optional<bool> get_bool(const Json& obj, const char* name, const char* where) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) throw ApiException{invalid_argument(std::string(where) + name + " must be true or false")};
  return it->get<bool>();
}

}  // namespace omnicast::control
