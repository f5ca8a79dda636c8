#pragma once
#include <stdexcept>

namespace omnicast::ingest {

// The peer broke the protocol or sent something the stage ingest does not take. The message is
// precise enough to act on ("chunk stream 7: message of 9000000 bytes exceeds the 8388608-byte
// limit"); the connection is closed. Thrown inside the protocol library only: RtmpServerSession
// catches it and reports it through state() / error().
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace omnicast::ingest
