#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <system_error>

#include "media/recorder/recording.hpp"

// A recording remuxed into one progressive MP4 for download and archive: stream copy, moov first.
namespace omnicast::media::recorder {

struct RemuxReport {
  double duration_s = 0;  // of the written file (its longest track)
  std::uint64_t bytes = 0;
  // segments_in: the segments whose media is in the file; segments_skipped: those left out because
  // their codec parameters differ from the first run's. segments_in + segments_skipped is the
  // index's segment count when the remux succeeds.
  std::uint64_t segments_in = 0, segments_skipped = 0;
  std::uint64_t video_packets = 0, audio_packets = 0;
  // Jumps inside a run that the manifest did not mark (decode time backwards, or forwards by more
  // than 2 s), closed like a marked discontinuity. 0 for what the packager writes.
  std::uint64_t timeline_repairs = 0;
  // On failure: what went wrong in words (libav's message, the file concerned), for the log of the
  // caller; empty on success.
  std::string error;
};

// One MP4 (ISO BMFF, not fragmented) with the moov first (movflags +faststart), written to `out`
// (created or replaced; built as "<out>.tmp" in the same directory, fsynced and renamed, so `out` is
// either the old file or the whole new one). Stream copy only, constant memory but for the moov's
// sample tables: each run of segments sharing an init and a timeline (no discontinuity inside) is
// read by libavformat's mov demuxer from a custom, non-seekable AVIOContext that reads the init and
// then its segments in sequence (no concatenated copy on disk). Timestamps are made continuous
// per track: each run starts where the previous run ended on that track, so a recording whose
// timeline restarts at 0 (node restart) or jumps forward (pause) plays as one continuous file. The
// first run's tracks define the file; a run whose codec parameters differ (codec, extradata,
// width/height, sample rate/channels, or the set of tracks) is left out and counted in
// segments_skipped. `progress`, if set, is called with the fraction of bytes read after each file.
//
// Errors: no_message_available for an index without segments (nothing is written); invalid_argument
// for an index whose segments name an init it does not hold; the errno of a missing or unreadable
// file; bad_message when a file is shorter or longer than its record or the demuxer finds it
// damaged; io_error for any other libav failure (report.error says which). On error `out` is
// untouched.
std::error_code remux_to_mp4(const std::filesystem::path& dir, const RecordingIndex& index,
                             const std::filesystem::path& out, RemuxReport& report,
                             const std::function<void(double)>& progress = {});

}  // namespace omnicast::media::recorder
