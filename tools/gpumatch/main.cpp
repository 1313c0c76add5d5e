// gpumatch: can this job, or this payload binary, run on this node, on which
// device, with which cores. See gpumatch(1).
#include "core/cli.hpp"
#include "match/match.hpp"
#include "probe/probe.hpp"

int main(int argc, char** argv) {
  gpukit::MatchOptions o;
  CLI::App app{"Match a job's GPU, CPU and memory needs (and its binaries' GPU code) against this node", "gpumatch"};
  gpukit::add_common_options(app, o.common, {"gpumatch", gpukit::match_formats(), 5});
  app.add_option("--require", o.require, "The job's requirements as JSON ('-': standard input)")->type_name("FILE");
  app.add_option("--jobs", o.jobs, "A list of jobs to place together (JSON array or {\"jobs\": [...]})")->type_name("FILE");
  app.add_option("--payload", o.payloads, "An executable or GPU library to inspect (repeatable)")->type_name("FILE");
  app.add_flag("--plan", o.plan, "Plan the node's slots for this GPU job profile and CPU-only jobs");
  app.add_option("--emit", o.emit,
                 "Print the requirement as HTCondor submit commands (condor), a Kubernetes pod fragment (k8s), a "
                 "DRA ResourceClaimTemplate (k8s-dra) or a PanDA task architecture (panda)")
      ->check(CLI::IsMember({"condor", "k8s", "k8s-dra", "panda"}));
  app.add_option("--job", o.job, "With --jobs and --format env: the job whose placement to print")->type_name("NAME");
  app.add_flag("--strict", o.strict, "Count rules whose outcome is unknown as failures");
  app.add_option("--cpu-job-cores", o.cpu_job_cores, "With --plan: cores per CPU-only job")->capture_default_str();
  app.add_option("--cpu-memory-per-core", o.cpu_memory_per_core, "With --plan: memory per core of CPU-only jobs")
      ->type_name("SIZE");
  app.add_option("--slurm-autodetect", o.slurm_autodetect, "With --format slurm: gres.conf AutoDetect (off or nvml)")
      ->check(CLI::IsMember({"off", "nvml"}))->capture_default_str();
  app.add_option("--share", o.share, "With --format slurm: share each whole GPU as shard:N or mps:N (N a multiple of 100)")
      ->type_name("KIND:N");
  app.add_option("--condor-share", o.condor_share,
                 "With --plan --format condor: offer each GPU N times, as condor_gpu_discovery -repeat N / -divide N")
      ->type_name("repeat:N|divide:N");

  auto& f = o.flags;
  auto* req = "Requirement shortcuts (override --require keys)";
  app.add_option("--gpus", f.gpus, "GPUs or MIG instances")->group(req);
  app.add_option("--vendor", f.vendor, "nvidia, amd or any")->group(req);
  app.add_option("--min-cc", f.min_compute_capability, "Minimum compute capability (NVIDIA)")->group(req)->type_name("X.Y");
  app.add_option("--max-cc", f.max_compute_capability, "Maximum compute capability (NVIDIA)")->group(req)->type_name("X.Y");
  app.add_option("--amd-target", f.amd_targets, "Accepted AMD target id (repeatable)")->group(req)->type_name("TARGET");
  app.add_option("--gpu-memory", f.gpu_memory, "Memory per GPU or instance")->group(req)->type_name("SIZE");
  app.add_option("--mig", f.mig, "allow, require or forbid MIG instances")->group(req);
  app.add_option("--mig-profile", f.mig_profiles, "Accepted MIG profile (repeatable)")->group(req)->type_name("PROFILE");
  app.add_option("--mig-min-slice", f.mig_min_slice, "Minimum MIG compute slices")->group(req);
  app.add_option("--cuda-runtime", f.cuda_runtime, "CUDA runtime the payload was built with")->group(req)->type_name("X.Y");
  app.add_option("--hip-runtime", f.hip_runtime, "HIP runtime the payload was built with")->group(req)->type_name("X.Y");
  app.add_flag("--no-minor-version-compatibility", f.no_minor_version_compatibility,
               "Need a driver that provides the runtime's CUDA version in full")->group(req);
  app.add_flag("--no-ptx-jit", f.no_ptx_jit, "Do not accept PTX that the driver must JIT-compile")->group(req);
  app.add_option("--min-fp64-tflops", f.min_fp64_tflops, "Minimum FP64 TFLOP/s per device")->group(req);
  app.add_option("--min-fp64-ratio", f.min_fp64_fp32_ratio, "Minimum FP64/FP32 rate ratio")->group(req);
  app.add_option("--min-score", f.min_score, "Minimum benchmark score per device")->group(req);
  app.add_flag("--exclusive", f.exclusive, "A whole, unshared GPU")->group(req);
  app.add_option("--cores-per-gpu", f.cores_per_gpu, "CPU cores per GPU")->group(req);
  app.add_option("--cores", f.cores, "CPU cores (CPU-only jobs)")->group(req);
  app.add_option("--memory-per-core", f.memory_per_core, "RAM per core")->group(req)->type_name("SIZE");
  app.add_option("--memory", f.memory, "RAM per job")->group(req)->type_name("SIZE");
  app.add_option("--pinned-memory-per-gpu", f.pinned_memory_per_gpu, "Pinned host memory per GPU")->group(req)->type_name("SIZE");
  app.add_flag("--numa-local", f.numa_local, "Cores and memory on each GPU's NUMA node")->group(req);

  o.probe = [&o](gpukit::Document& document) {
    return gpukit::ensure_probed(document, {o.common.timeout_s, true});
  };
  return gpukit::tool_main(app, o.common, argc, argv, [&] { return gpukit::run_match(o); });
}
