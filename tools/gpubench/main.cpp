// gpubench: micro-benchmarks of the node's GPUs and CPU (memory bandwidth,
// FMA throughput, host-device transfers, launch latency, memory test) and HEP
// workloads with their scores, added to the node document as its bench section.
#include "bench/bench.hpp"
#include "core/cli.hpp"

int main(int argc, char** argv) {
  gpukit::BenchOptions o;
  CLI::App app{"Benchmarks of this node's GPUs and CPU, validated, with peak fractions and energy", "gpubench"};
  gpukit::add_common_options(app, o.common, {"gpubench", {"json", "table", "csv", "hepscore"}, 300.0});
  app.add_option("-d,--device", o.devices,
                 "Devices: GPU indices, GPU-/MIG- UUIDs, cpu, gpu (every visible GPU), all (default)")
      ->delimiter(',')
      ->type_name("LIST");
  app.add_option("-w,--workload", o.workloads,
                 "Workloads or groups (micro, hep, stream, fma, transfer, launch, memtest, storage, me_eemumu, em_shower, track_fit, mlp_infer); default: all")
      ->delimiter(',')
      ->type_name("LIST");
  app.add_option("-r,--repetitions", o.repetitions, "Timed repetitions; the figure is their median")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--warmup", o.warmup, "Untimed repetitions first")->check(CLI::Range(0, 1000))->capture_default_str();
  app.add_flag("--quick", o.quick, "Fixed small sizes: micro suite and HEP workloads in at most 15 s each per device; not for accounting or comparison");
  app.add_option("--run-timeout", o.run_timeout_s, "Deadline of the whole run in seconds")
      ->capture_default_str()
      ->type_name("SECONDS");
  app.add_option("--array-size", o.array_size, "Bytes per stream array (default: 4x the last-level cache, at least 256MiB on GPUs)")
      ->type_name("SIZE");
  app.add_option("--max-transfer", o.max_transfer, "Largest host-device transfer of the sweep")
      ->capture_default_str()
      ->type_name("SIZE");
  app.add_option("--max-memory", o.max_memory, "Most memory one workload may allocate on a device")->type_name("SIZE");
  app.add_option("--memtest-fraction", o.memtest_fraction,
                 "Share of free memory the memory test takes (default 0.9 on GPUs, 0.25 on the CPU)")
      ->type_name("FRACTION");
  app.add_option("--seed", o.seed, "Seed of the random inputs (default: from the clock)");
  app.add_option("--reference", o.reference, "Reference file of the HEP scores (default: the provisional CPU reference)")
      ->type_name("FILE");
  app.add_flag("--check", o.check,
               "Level-2 health of the GPUs (memory test, pinned transfers against the PCIe link, FMA clocks) "
               "into gpus[].health; exit 1 when a check fails");
  app.add_option("--scratch", o.scratch, "Directory the storage workloads write in (default: $TMPDIR, else /tmp)")
      ->type_name("DIR");
  app.add_option("--max-storage", o.max_storage,
                 "Most bytes the storage workloads write at once (default: 10% of the free space, at most 4GiB)")
      ->type_name("SIZE");
  app.add_flag("--allow-network-scratch", o.allow_network_scratch,
               "Let the storage workloads run on a network filesystem (NFS, Lustre, GPFS, CephFS, ...)");
  app.add_option("--hepscore-config", o.hepscore_config,
                 "Also write the hep-score YAML configuration (ref_scores, weights) that reproduces this run's score from --format hepscore")
      ->type_name("FILE");
  app.add_flag("--rescore", o.rescore, "Rewrite only the scores of the input document's bench section (with --reference)");
  app.add_flag("--no-node", o.no_node, "Do not run every GPU at once for the node figures");
  return gpukit::tool_main(app, o.common, argc, argv, [&] { return gpukit::run_bench(o); });
}
