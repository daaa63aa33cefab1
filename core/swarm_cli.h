// The command-line options every daemon that runs a Swarm shares (shoal-node, shoal-seeder).
#pragma once

#include <CLI/CLI.hpp>

#include "core/swarm.h"

namespace shoal {

inline void AddSwarmOptions(CLI::App& app, SwarmOptions& options) {
  app.add_option("--dc", options.dc, "datacenter");
  app.add_option("--rack", options.rack, "rack");
  app.add_option("--upload-limit", options.upload_limit, "bytes/s, 0 = unlimited");
  app.add_option("--download-limit", options.download_limit, "bytes/s, 0 = unlimited");
  app.add_option("--disk-io", options.disk_io,
                 "disk back end: shoal, posix or mmap (mmap crashes on a full disk)")
      ->capture_default_str();
  app.add_option("--piece-cache", options.piece_cache_bytes,
                 "bytes of just-written pieces kept in memory for peers' requests and the digest "
                 "pass (disk-io shoal; 0: read them from the file)")
      ->check(CLI::Range(0, 1 << 30))
      ->capture_default_str();
  app.add_option("--net-batch-us", options.network_batch_us,
                 "microseconds libtorrent's network thread naps between passes, so that one "
                 "wake-up takes several packets (0: libtorrent's own thread)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--resume-interval", options.resume_interval_s,
                 "seconds between resume-data saves of downloads (>= 1)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--dispatch", options.dispatch,
                 "origin dispatch: the origin hands each downloading node the pieces no node holds "
                 "yet and the nodes trade the rest (origin: do it; node: accept it)")
      ->capture_default_str();
  app.add_option("--download-unchoke-slots", options.download_unchoke_slots,
                 "peers unchoked at once while this node downloads (0: every interested one); "
                 "seeding only, it unchokes every interested peer")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  app.add_option("--stall-report", options.stall_report_s,
                 "seconds without a verified piece after which a download's stall is logged, "
                 "with what it lacks and what each peer does; and a verified prefix waiting "
                 "that long for its next piece (0: never)")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  app.add_option("--bt-setting", options.settings,
                 "NAME=VALUE: override a libtorrent settings_pack entry (repeatable)");
}

}  // namespace shoal
