// libFuzzer target over what the control plane reads from the network before anything else:
// participant tokens (base64url + JSON + HS256), request meta, and the policy document format.
// The first byte picks the parser; the rest is its input. Invariants beyond "no crash, no UB":
//   - a token that verifies re-signs to the same text (signing is deterministic and the base64url
//     decoder accepts only canonical text, so one token has one spelling);
//   - base64url: whatever decodes re-encodes to the same text;
//   - every refusal is an ApiException with a 400/401 status and a code, never another exception.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "actors/control/meta.hpp"
#include "actors/control/policy.hpp"
#include "actors/control/tokens.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace omnicast;

namespace {

using omnicast::fuzz::fail;

const control::TokenService& tokens() {
  static const control::TokenService service = [] {
    char dir[] = "/tmp/omnicast-fuzz-XXXXXX";
    if (!::mkdtemp(dir)) fail("mkdtemp");
    runtime::SeededRng rng(42);
    auto s = control::TokenService::load_or_create(std::filesystem::path(dir) / "token.key", rng, std::chrono::seconds(120));
    std::filesystem::remove_all(dir);
    return s;
  }();
  return service;
}

void expect_refusal(const control::ApiException& e) {
  if (e.error.code.empty() || (e.error.status != 400 && e.error.status != 401)) fail("refusal without a 400/401 code");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {  // a bearer token as sent
      try {
        const auto claims = tokens().verify(input, 0);
        if (tokens().sign(claims) != input) fail("a verified token does not re-sign to itself");
      } catch (const control::ApiException& e) {
        expect_refusal(e);
      }
      break;
    }
    case 1: {  // base64url
      if (auto bytes = control::base64url_decode(input))
        if (control::base64url_encode(*bytes) != input) fail("base64url decode/encode is not the identity");
      break;
    }
    case 2: {  // a request body's meta
      const auto body = control::Json::parse(input, nullptr, false);
      if (body.is_discarded()) break;
      for (bool op_required : {true, false}) {
        try {
          (void)control::parse_meta(body, op_required);
        } catch (const control::ApiException& e) {
          expect_refusal(e);
        }
      }
      break;
    }
    case 3: {  // a policy file
      const auto doc = control::Json::parse(input, nullptr, false);
      if (doc.is_discarded()) break;
      try {
        const auto policy = control::Policy::parse(doc);
        (void)policy.evaluate({"stream.prepare", {{"principal.kind", "api_key"}}});
      } catch (const std::invalid_argument&) {
      }
      break;
    }
  }
  return 0;
}
