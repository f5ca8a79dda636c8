#include <gtest/gtest.h>

#include "runtime/metrics.hpp"

using namespace omnicast::runtime::metrics;

TEST(Metrics, ExposesCountersGaugesAndHistogramsInPrometheusText) {
  Registry r;
  r.counter("omnicast_things_total", "Things.").inc(3);
  r.gauge("omnicast_level", "A level.").set(2.5);
  auto& fam = r.counter_family("omnicast_requests_total", "Requests.", {"route", "code"});
  fam.with({"/healthz", "200"}).inc();
  fam.with({"/a\"b\\c\nd", "404"}).inc(2);
  auto& h = r.histogram("omnicast_latency_seconds", "Latency.", {0.1, 1.0});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  const auto text = r.expose();
  EXPECT_NE(text.find("# HELP omnicast_things_total Things.\n# TYPE omnicast_things_total counter\n"
                      "omnicast_things_total 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("omnicast_level 2.5\n"), std::string::npos);
  EXPECT_NE(text.find("omnicast_requests_total{route=\"/healthz\",code=\"200\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("omnicast_requests_total{route=\"/a\\\"b\\\\c\\nd\",code=\"404\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("omnicast_latency_seconds_bucket{le=\"0.1\"} 1\n"
                      "omnicast_latency_seconds_bucket{le=\"1\"} 2\n"
                      "omnicast_latency_seconds_bucket{le=\"+Inf\"} 3\n"
                      "omnicast_latency_seconds_sum 5.55\n"
                      "omnicast_latency_seconds_count 3\n"),
            std::string::npos)
      << text;
}

TEST(Metrics, SameNameReturnsTheSameMetricAndShapeConflictsThrow) {
  Registry r;
  auto& a = r.counter("omnicast_x_total", "X.");
  auto& b = r.counter("omnicast_x_total", "X.");
  EXPECT_EQ(&a, &b);
  EXPECT_THROW(r.gauge("omnicast_x_total", "X."), std::invalid_argument);
  EXPECT_THROW(r.counter("bad name", "X."), std::invalid_argument);
  EXPECT_THROW(r.counter_family("omnicast_y_total", "Y.", {"le"}), std::invalid_argument);
  auto& f = r.counter_family("omnicast_z_total", "Z.", {"a"});
  EXPECT_THROW(f.with({"1", "2"}), std::invalid_argument);
}

TEST(Metrics, CallbacksAreReadAtScrapeTime) {
  Registry r;
  double v = 1;
  r.callback("omnicast_cb", "CB.", Type::gauge, [&] { return v; });
  EXPECT_NE(r.expose().find("omnicast_cb 1\n"), std::string::npos);
  v = 7;
  EXPECT_NE(r.expose().find("omnicast_cb 7\n"), std::string::npos);
}

TEST(Metrics, ProcessMetricsAreReadFromProc) {
  Registry r;
  register_process_metrics(r);
  const auto text = r.expose();
  for (const char* name : {"process_resident_memory_bytes ", "process_cpu_seconds_total ",
                           "process_open_fds ", "process_start_time_seconds "})
    EXPECT_NE(text.find(name), std::string::npos) << name;
  EXPECT_GT(peak_rss_bytes(), 0u);
}
