#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "compute/cpu/cpu_backend.hpp"
#include "compute/cpu/worker_pool.hpp"
#include "compute/gpu/vendor_blas.hpp"
#include "compute/kernels/fma.cuh"
#include "compute/kernels/memtest.cuh"
#include "compute/kernels/names.hpp"
#include "compute/plugin_loader.hpp"
#include "compute/registry.hpp"
#include "test_support.hpp"

using namespace gpukit;

using gpukit::test::ScopedEnvironment;

namespace {

std::shared_ptr<Device> cpu_device() {
  auto backend = make_cpu_backend();
  REQUIRE(backend.ok());
  std::shared_ptr<Backend> b = std::move(*backend);
  return b->devices().front();
}

// A device buffer of n doubles that the test can read (CPU memory).
struct Array {
  std::shared_ptr<Device> device;
  double* data = nullptr;
  std::uint64_t n = 0;
  Array(std::shared_ptr<Device> d, std::uint64_t count) : device(std::move(d)), n(count) {
    auto p = device->allocate(count * sizeof(double));
    REQUIRE(p.ok());
    data = static_cast<double*>(*p);
  }
  ~Array() { device->release(data); }
};

std::string plugin_dir(const std::string& name) { return test::fake("plugins/" + name); }
}  // namespace

TEST_CASE("compute: worker shares cover every element once, aligned") {
  for (std::uint64_t n : {0ull, 1ull, 63ull, 64ull, 1000ull, 1000003ull}) {
    for (int workers : {1, 2, 3, 7}) {
      std::uint64_t covered = 0, previous_end = 0;
      for (int w = 0; w < workers; ++w) {
        auto [b, e] = cpu::WorkerPool::share(n, workers, w, 64);
        CHECK(b == previous_end);
        CHECK((b % 64 == 0 || b == n));
        covered += e - b;
        previous_end = e;
      }
      CHECK(covered == n);
    }
  }
}

TEST_CASE("compute: the CPU device describes itself") {
  auto d = cpu_device();
  const DeviceInfo& i = d->info();
  CHECK(i.backend == "cpu");
  CHECK(i.uuid == "cpu");
  CHECK(i.compute_units >= 1);
  CHECK(i.vector_bits >= 128);
  CHECK(i.fp64_flops_per_cycle >= 2);
  CHECK(i.memory_bytes > 0);
  CHECK(i.parallel_items >= 256);
  CHECK(d->unavailable_kernel(kernel::stream_triad).empty());
  CHECK(d->unavailable_kernel(kernel::fma_fp16).find("no fp16 kernel") != std::string::npos);
  CHECK(d->unavailable_kernel("warp_drive") == "the CPU backend has no kernel 'warp_drive'");
  auto launched = d->launch("warp_drive", {}, 0);
  REQUIRE_FALSE(launched.ok());
  CHECK(launched.error().code == ExitCode::environment);
}

TEST_CASE("compute: CPU stream kernels compute BabelStream's formulas") {
  auto d = cpu_device();
  const std::uint64_t n = 100003;  // not a multiple of any vector width
  Array a(d, n), b(d, n), c(d, n), result(d, 1), scratch(d, 1024);
  KernelArgs fill;
  fill.n = n;
  fill.out = a.data, fill.seed = 1, fill.scalar = 0.5, fill.scalar2 = 1.5;
  REQUIRE(d->launch(kernel::random_f64, fill, 0).ok());
  fill.out = b.data, fill.seed = 2;
  REQUIRE(d->launch(kernel::random_f64, fill, 0).ok());
  for (std::uint64_t i : {std::uint64_t{0}, std::uint64_t{5}, n - 1}) {
    CHECK(a.data[i] == kernels::uniform(1, i, 0.5, 1.5));
    CHECK(a.data[i] >= 0.5);
    CHECK(a.data[i] < 1.5);
  }
  KernelArgs k;
  k.n = n;
  k.out = c.data, k.in0 = a.data, k.in1 = b.data, k.scalar = 0.4;
  REQUIRE(d->launch(kernel::stream_triad, k, 0).ok());
  double worst = 0;
  for (std::uint64_t i = 0; i < n; ++i)
    worst = std::max(worst, std::fabs(c.data[i] - (a.data[i] + 0.4 * b.data[i])) / std::fabs(c.data[i]));
  CHECK(worst <= 2.3e-16);  // at most one rounding apart (fused or not)
  REQUIRE(d->launch(kernel::stream_add, k, 0).ok());
  CHECK(c.data[n - 1] == a.data[n - 1] + b.data[n - 1]);
  REQUIRE(d->launch(kernel::stream_copy, k, 0).ok());
  CHECK(std::memcmp(c.data, a.data, n * sizeof(double)) == 0);
  REQUIRE(d->launch(kernel::stream_mul, k, 0).ok());
  CHECK(c.data[7] == 0.4 * a.data[7]);
  KernelArgs dot;
  dot.n = n;
  dot.out = result.data, dot.in0 = a.data, dot.in1 = b.data, dot.scratch = scratch.data, dot.scratch_elements = 1024;
  REQUIRE(d->launch(kernel::stream_dot, dot, 0).ok());
  long double ref = 0;
  for (std::uint64_t i = 0; i < n; ++i) ref += static_cast<long double>(a.data[i]) * b.data[i];
  CHECK(std::fabs(result.data[0] - static_cast<double>(ref)) / static_cast<double>(ref) < 1e-12);
}

TEST_CASE("compute: CPU FMA chains follow the closed form") {
  auto d = cpu_device();
  const std::uint64_t items = 37, iterations = 128;
  Array out(d, items);
  KernelArgs k;
  k.out = out.data, k.n = items, k.seed = 9, k.iterations = iterations;
  k.scalar = kernels::fma_multiplier_wide, k.scalar2 = 0.001;
  REQUIRE(d->launch(kernel::fma_fp64, k, 0).ok());
  for (std::uint64_t item : {0ull, 36ull}) {
    double expected = 0, mk = std::pow(0.999, static_cast<double>(iterations));
    for (int ch = 0; ch < kernels::fma_chains; ++ch)
      expected += mk * kernels::fma_start(9, item, ch) + 0.001 * (1 - mk) / (1 - 0.999);
    CHECK(out.data[item] == doctest::Approx(expected).epsilon(1e-12));
  }
  k.scalar = kernels::fma_int_multiplier, k.scalar2 = kernels::fma_int_addend;
  REQUIRE(d->launch(kernel::fma_int32, k, 0).ok());
  double expected = 0;
  for (int ch = 0; ch < kernels::fma_chains; ++ch) {
    std::uint32_t x = kernels::fma_start_u32(9, 3, ch);
    for (std::uint64_t it = 0; it < iterations; ++it) x = x * kernels::fma_int_multiplier + kernels::fma_int_addend;
    expected += x;
  }
  CHECK(out.data[3] == expected);  // integer arithmetic: exact
}

TEST_CASE("compute: every instruction-set level gives the same results") {
  std::vector<double> reference;
  for (const char* level : {"generic", "v3", "v4"}) {
    ScopedEnvironment isa("GPUKIT_CPU_ISA", level);
    auto backend = make_cpu_backend();
    if (!backend.ok()) {
      CHECK(backend.error().code == ExitCode::environment);  // this CPU lacks the level
      continue;
    }
    std::shared_ptr<Backend> b = std::move(*backend);
    auto d = b->devices().front();
    CHECK(d->info().arch.find(std::string(level) == "generic" ? "x86-64" : std::string("x86-64-") + level) == 0);
    Array out(d, 100);
    KernelArgs k;
    k.out = out.data, k.n = 100, k.seed = 4, k.iterations = 64;
    k.scalar = kernels::fma_multiplier_wide, k.scalar2 = 0.25;
    REQUIRE(d->launch(kernel::fma_fp32, k, 0).ok());
    std::vector<double> values(out.data, out.data + 100);
    if (reference.empty()) reference = values;
    for (size_t i = 0; i < values.size(); ++i) CHECK(values[i] == doctest::Approx(reference[i]).epsilon(1e-5));
  }
  ScopedEnvironment bad("GPUKIT_CPU_ISA", "v9");
  auto backend = make_cpu_backend();
  REQUIRE_FALSE(backend.ok());
  CHECK(backend.error().what() == "GPUKIT_CPU_ISA=v9: unknown instruction-set level (use v4, v3 or generic)");
}

TEST_CASE("compute: the memory test finds a flipped bit and where it is") {
  auto d = cpu_device();
  const std::uint64_t words = 50000;
  auto mem = d->allocate(words * 8);
  REQUIRE(mem.ok());
  auto* w = static_cast<std::uint64_t*>(*mem);
  std::uint64_t counters[2] = {0, UINT64_MAX};
  KernelArgs k;
  k.out = w, k.n = words, k.seed = 77, k.scratch = counters;
  REQUIRE(d->launch(kernel::memtest_write, k, 0).ok());
  REQUIRE(d->launch(kernel::memtest_verify, k, 0).ok());
  CHECK(counters[0] == 0);
  w[12345] ^= 1ull << 17;
  w[40000] ^= 1ull;
  counters[0] = 0, counters[1] = UINT64_MAX;
  REQUIRE(d->launch(kernel::memtest_verify, k, 0).ok());
  CHECK(counters[0] == 2);
  CHECK(counters[1] == 12345);
  d->release(w);
}

TEST_CASE("compute: host memory on a NUMA node") {
  auto host = HostMemory::open();
  REQUIRE(host.ok());
  auto nodes = (*host)->numa_nodes();
  REQUIRE_FALSE(nodes.empty());
  auto p = (*host)->allocate(1 << 20, nodes.front());
  REQUIRE(p.ok());
  static_cast<char*>(*p)[(1 << 20) - 1] = 1;
  (*host)->release(*p, 1 << 20);
}

TEST_CASE("compute: plugins that are not installed are reported with where we looked") {
  std::string empty = test::temp_dir();
  auto plugins = load_plugins({empty}, 5);
  REQUIRE(plugins.size() == 2);
  CHECK(plugins[0].report.file == "gpukit-cuda.so");
  CHECK(plugins[0].report.state == PluginState::not_installed);
  CHECK(plugins[0].report.message() == "plugin gpukit-cuda.so: not installed (searched " + empty + ")");
  CHECK(plugins[1].report.file == "gpukit-hip.so");
  std::filesystem::remove_all(empty);
}

TEST_CASE("compute: a plugin of another ABI is refused before anything else is used") {
  auto plugins = load_plugins({plugin_dir("abi")}, 5);
  const LoadedPlugin* cuda = nullptr;
  for (const auto& p : plugins)
    if (p.report.file == "gpukit-cuda.so") cuda = &p;
  REQUIRE(cuda);
  CHECK(cuda->report.state == PluginState::abi_mismatch);
  CHECK_FALSE(cuda->backend);
  CHECK(cuda->report.message() == "plugin gpukit-cuda.so: built for backend ABI " +
                                      std::to_string(backend_abi_version + 998) + ", this gpukit uses ABI " +
                                      std::to_string(backend_abi_version) +
                                      " (install the plugin of the same gpukit release)");
}

TEST_CASE("compute: a plugin whose initialisation fails says why") {
  auto p = load_plugin(plugin_dir("initfail") + "/gpukit-cuda.so", 5);
  CHECK(p.report.state == PluginState::unavailable);
  CHECK(p.report.toolkit_version == "CUDA 0.0");
  CHECK(p.report.message() == "plugin gpukit-cuda.so: no usable device: the fake driver refused to start");
}

TEST_CASE("compute: a library without the entry point and one that cannot load") {
  auto none = load_plugin(plugin_dir("notaplugin") + "/gpukit-other.so", 5);
  CHECK(none.report.state == PluginState::abi_mismatch);
  CHECK(none.report.reason == "not a gpukit backend plugin (no gpukit_backend_plugin_v1)");
  std::string dir = test::temp_dir();
  std::string bogus = dir + "/gpukit-bogus.so";
  { std::ofstream(bogus) << "not an ELF file"; }
  auto bad = load_plugin(bogus, 5);
  CHECK(bad.report.state == PluginState::load_failed);
  CHECK(bad.report.reason.rfind("cannot be loaded: " + bogus, 0) == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("compute: the registry loads the fake GPU plugin beside the CPU") {
  ScopedEnvironment count("GPUKIT_FAKE_GPU_COUNT", "2");
  RegistryOptions o;
  o.plugin_dirs = {plugin_dir("fakegpu")};
  auto r = ComputeRegistry::open(o);
  REQUIRE(r.ok());
  REQUIRE(r->cpu());
  REQUIRE(r->gpus().size() == 2);
  CHECK(r->gpus()[1]->info().uuid == "GPU-f4ce0000-0000-4000-8000-000000000002");
  bool fake_loaded = false;
  for (const auto& p : r->plugins())
    if (p.name == "fakegpu") fake_loaded = p.state == PluginState::loaded;
  CHECK(fake_loaded);
}

TEST_CASE("compute: the CUDA plugin without a driver reports 'no usable device' and the versions") {
  std::string path = std::string(GPUKIT_TEST_PLUGINDIR) + "/gpukit-cuda.so";
  if (!std::filesystem::exists(path)) {
    MESSAGE("skipped: gpukit-cuda.so not built (GPUKIT_CUDA=OFF): nothing to check");
    return;
  }
  auto p = load_plugin(path, 30);
  CHECK(p.report.toolkit_version.rfind("CUDA ", 0) == 0);
  if (std::filesystem::exists("/dev/nvidiactl")) {
    MESSAGE("skipped: an NVIDIA driver is present: " << p.report.message());
    return;
  }
  REQUIRE(p.report.state == PluginState::unavailable);
  CHECK(p.report.message().rfind("plugin gpukit-cuda.so: no usable device: ", 0) == 0);
  CHECK(p.report.reason.find("plugin was built with " + p.report.toolkit_version) != std::string::npos);
}

TEST_CASE("compute: the vendor GEMM library of each toolkit, and why there is none") {
  using namespace gpukit::vendor_blas;
  CHECK(sonames(Family::cublas, 13) == std::vector<std::string>{"libcublas.so.13"});
  CHECK(sonames(Family::hipblas, 5) == std::vector<std::string>{"libhipblas.so.1", "libhipblas.so.0"});
  CHECK(sonames(Family::hipblas, 6) == std::vector<std::string>{"libhipblas.so.2"});
  CHECK(sonames(Family::hipblas, 7) == std::vector<std::string>{"libhipblas.so.3"});
  CHECK(sonames(Family::hipblas, 4).empty());
  CHECK(Library::open(Family::hipblas, 4).error().what() == "hipBLAS: no library known for toolkit major version 4");
  gpukit::test::ScopedEnvironment env("GPUKIT_CUBLAS_LIBRARY", "/nonexistent/libcublas.so.13");
  auto missing = Library::open(Family::cublas, 13);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ExitCode::environment);
  CHECK(missing.error().what().rfind("cuBLAS not found (/nonexistent/libcublas.so.13: cannot open shared object file", 0) ==
        0);
}

TEST_CASE("compute: a row-major product through the vendor GEMM's column-major call (fake cuBLAS)") {
  using namespace gpukit::vendor_blas;
  const std::string path = gpukit::test::fake("cublas/libcublas.so.13");
  gpukit::test::ScopedEnvironment env("GPUKIT_CUBLAS_LIBRARY", path);
  auto lib = Library::open(Family::cublas, 13);
  REQUIRE(lib.ok());
  CHECK((*lib)->describe() == "cuBLAS 13.0.0 (" + std::filesystem::canonical(path).string() + ")");
  auto handle = (*lib)->create_handle();
  REQUIRE(handle.ok());
  // A (2 x 3) W (3 x 4), both row-major, as the MLP's activations and weights.
  const float a[6] = {1, 2, 3, 4, 5, 6};
  const float w[12] = {1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1};
  float c[8];
  std::fill(std::begin(c), std::end(c), NAN);  // beta = 0: C is written, never read
  REQUIRE((*lib)->gemm(handle->get(), 2, 4, 3, a, w, (*lib)->constants().f32, c));
  const float expected[8] = {1, 2, 3, 6, 4, 5, 6, 15};
  for (int i = 0; i < 8; ++i) CHECK(c[i] == expected[i]);
  // The same product from binary16 storage.
  gpukit::hep::Half ah[6], wh[12];
  for (int i = 0; i < 6; ++i) ah[i] = gpukit::hep::Storage<gpukit::hep::Half>::from_acc(a[i]);
  for (int i = 0; i < 12; ++i) wh[i] = gpukit::hep::Storage<gpukit::hep::Half>::from_acc(w[i]);
  REQUIRE((*lib)->gemm(handle->get(), 2, 4, 3, ah, wh, type_code<gpukit::hep::Half>((*lib)->constants()), c));
  for (int i = 0; i < 8; ++i) CHECK(c[i] == expected[i]);
  // An error status of the library comes back naming the call.
  auto bad = (*lib)->gemm(handle->get(), 2, 4, 3, a, w, 99, c);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().what() == "cuBLAS GemmEx failed (status 15)");
}
