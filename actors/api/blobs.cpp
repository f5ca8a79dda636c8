// The data plane of media: /v1/blobs/{media_id}, reached through the signed URLs that
// media.presign (PUT) and media.get_link (GET, HEAD) hand out. Upload bodies stream to storage as
// they arrive; downloads stream from storage; neither holds more than one chunk in memory.
#include "actors/api/surfaces_impl.hpp"
#include "actors/control/signed_urls.hpp"
#include "media/storage/blob_store.hpp"

namespace omnicast::api {

namespace {

control::BlobRequest blob_request(const gateway::HttpRequest& req) {
  control::BlobRequest q;
  q.method = req.method;
  q.path = req.path;
  q.media_id = req.params.count("media_id") ? req.params.at("media_id") : "";
  q.query = control::parse_query(req.query);
  q.range = std::string(req.header("range"));
  q.if_none_match = std::string(req.header("if-none-match"));
  q.part_sha256 = std::string(req.header("x-part-sha256"));
  q.correlation_id = req.correlation_id;
  return q;
}

gateway::HttpResponse internal_error(const std::string& corr) {
  return to_http(control::error_response({500, "internal", "internal error", nullptr, 0}, corr));
}

// A PUT body into the control plane's UploadReceiver.
class UploadSink final : public gateway::BodySink {
 public:
  UploadSink(asio::any_io_executor executor, std::unique_ptr<control::UploadReceiver> receiver, std::string corr)
      : executor_(std::move(executor)), receiver_(std::move(receiver)), corr_(std::move(corr)) {}

  std::optional<gateway::HttpResponse> on_data(const char* data, std::size_t n) override {
    if (auto refuse = receiver_->write(data, n)) return to_http(*refuse);
    return std::nullopt;
  }

  void on_end(gateway::Respond respond) override {
    // The receiver lives until its answer is out: finish() appends to the ledger.
    std::shared_ptr<control::UploadReceiver> receiver = std::move(receiver_);
    asio::co_spawn(executor_, receiver->finish(),
                   [receiver, respond = std::move(respond), corr = corr_](std::exception_ptr e,
                                                                         control::Response r) mutable {
                     respond(e ? internal_error(corr) : to_http(r));
                   });
  }

  void on_abort() override { receiver_.reset(); }  // the temporary file goes with it

 private:
  asio::any_io_executor executor_;
  std::unique_ptr<control::UploadReceiver> receiver_;
  std::string corr_;
};

// A stored blob, or a range of it, as a response body.
class BlobSource final : public gateway::BodySource {
 public:
  BlobSource(std::shared_ptr<media::BlobReader> reader, std::uint64_t offset, std::uint64_t length)
      : reader_(std::move(reader)), at_(offset), length_(length) {}
  std::uint64_t size() const noexcept override { return length_; }
  bool read(char* out, std::size_t n, std::size_t& got) override {
    if (reader_->read_at(at_, out, n, got)) return false;
    at_ += got;
    return true;
  }

 private:
  std::shared_ptr<media::BlobReader> reader_;
  std::uint64_t at_, length_;
};

}  // namespace

void Surfaces::Impl::add_blobs(gateway::Router& router) {
  router.add_stream("PUT", "/v1/blobs/{media_id}",
                    [self = shared_from_this()](gateway::HttpRequest& req,
                                                runtime::UniqueFunction<void(gateway::StreamDecision)> decide) {
                      auto executor = self->deps.executor;
                      asio::co_spawn(executor, self->deps.control.receive_upload(blob_request(req)),
                                     [decide = std::move(decide), executor, corr = req.correlation_id](
                                         std::exception_ptr e, control::UploadStart start) mutable {
                                       gateway::StreamDecision d;
                                       if (e) d.refuse = internal_error(corr);
                                       else if (start.refuse) d.refuse = to_http(*start.refuse);
                                       else {
                                         d.sink = std::make_unique<UploadSink>(executor, std::move(start.receiver), corr);
                                         d.max_bytes = start.max_bytes;
                                       }
                                       decide(std::move(d));
                                     });
                    });

  router.add("GET", "/v1/blobs/{media_id}", [self = shared_from_this()](gateway::HttpRequest& req, gateway::Respond respond) {
    asio::co_spawn(self->deps.executor, self->deps.control.download(blob_request(req)),
                   [respond = std::move(respond), corr = req.correlation_id](std::exception_ptr e,
                                                                             control::Download d) mutable {
                     if (e) return respond(internal_error(corr));
                     auto h = to_http(d.response);
                     if (!d.content_type.empty() && d.reader) h.content_type = d.content_type;
                     for (auto& kv : d.headers) h.headers.push_back(std::move(kv));
                     if (d.response.status == 304) h.body.clear();
                     if (d.reader) h.source = std::make_shared<BlobSource>(std::move(d.reader), d.offset, d.length);
                     respond(std::move(h));
                   });
  });
}

}  // namespace omnicast::api
