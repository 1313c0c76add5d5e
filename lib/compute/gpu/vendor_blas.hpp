// The vendor GEMM (cuBLAS or hipBLAS), opened at run time so that the plugins
// load on nodes without it, and the MLP forward pass written over it. Host C++
// only (no CUDA or HIP header): the GPU plugins include it, and so does the
// fake plugin of the tests, which drives it with a fake libcublas on host
// memory.
//
// The libraries' types and constants are not taken from their headers (hipBLAS
// is not installed where the HIP plugin is built); the values below are from:
//   cuBLAS (cublas_api.h, library_types.h of CUDA 13.0; checked against the
//     header by a static_assert in the CUDA plugin): CUBLAS_OP_N 0,
//     CUDA_R_32F 0, CUDA_R_16F 2, CUDA_R_16BF 14, CUBLAS_COMPUTE_32F 68,
//     CUBLAS_GEMM_DEFAULT -1; cublasGemmEx(handle, transa, transb, m, n, k,
//     alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc, computeType,
//     algo); cublasCreate_v2, cublasDestroy_v2, cublasSetStream_v2,
//     cublasGetProperty(MAJOR_VERSION 0 / MINOR_VERSION 1 / PATCH_LEVEL 2, int*).
//   hipBLAS (ROCm/hipBLAS library/include/hipblas.h, hipBLAS-common
//     hipblas-common.h): HIPBLAS_OP_N 111, HIPBLAS_GEMM_DEFAULT 160;
//     hipblasDatatype_t HIPBLAS_R_16F 150, HIPBLAS_R_32F 151, HIPBLAS_R_16B 168
//     (hipBLAS 0.x-2.x, compute type given as a datatype); hipDataType
//     HIP_R_32F 0, HIP_R_16F 2, HIP_R_16BF 14 with hipblasComputeType_t
//     HIPBLAS_COMPUTE_32F 2 (hipblasGemmEx_v2 in hipBLAS 2.x, plain
//     hipblasGemmEx from hipBLAS 3.0, ROCm 7, which removed the old form).
//   Sonames: libcublas.so.<CUDA major>; libhipblas.so.0 (ROCm <= 5.5),
//     .so.1 (ROCm 5.6-5.7), .so.2 (ROCm 6), .so.3 (ROCm 7). Only the library of
//     the plugin's own toolkit major is tried: another would bring a second
//     copy of the runtime into the process.
#pragma once

#include <dlfcn.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "compute/backend.hpp"
#include "compute/kernels/hep/mlp.cuh"

namespace gpukit::vendor_blas {

enum class Family { cublas, hipblas };

// Every enum of these APIs is an int in the C calling convention, so one
// function type serves cublasGemmEx and both hipblasGemmEx forms.
using GemmFn = int(void* handle, int transa, int transb, int m, int n, int k, const void* alpha, const void* a,
                   int a_type, int lda, const void* b, int b_type, int ldb, const void* beta, void* c, int c_type,
                   int ldc, int compute_type, int algo);

struct Constants {
  int op_n, f32, f16, bf16, compute_f32, algo_default;
};
inline constexpr Constants cublas_constants{0, 0, 2, 14, 68, -1};
inline constexpr Constants hipblas_v1_constants{111, 151, 150, 168, 151, 160};
inline constexpr Constants hipblas_v2_constants{111, 0, 2, 14, 2, 160};

// The library files to try for a toolkit of major version `major`.
inline std::vector<std::string> sonames(Family f, int major) {
  if (f == Family::cublas) return {"libcublas.so." + std::to_string(major)};
  switch (major) {
    case 5: return {"libhipblas.so.1", "libhipblas.so.0"};
    case 6: return {"libhipblas.so.2"};
    case 7: return {"libhipblas.so.3"};
    default: return {};
  }
}

inline const char* override_env(Family f) {
  return f == Family::cublas ? "GPUKIT_CUBLAS_LIBRARY" : "GPUKIT_HIPBLAS_LIBRARY";
}

class Library {
 public:
  // The vendor BLAS of `family` for toolkit major `major` (the file named by
  // GPUKIT_CUBLAS_LIBRARY / GPUKIT_HIPBLAS_LIBRARY instead when set), or why not.
  static Result<std::shared_ptr<Library>> open(Family family, int major) {
    const std::string vendor = family == Family::cublas ? "cuBLAS" : "hipBLAS";
    std::vector<std::string> files = sonames(family, major);
    if (const char* o = std::getenv(override_env(family)); o && *o) files = {o};
    if (files.empty())
      return environment_error(vendor + ": no library known for toolkit major version " + std::to_string(major));
    std::string last_error;
    for (const auto& file : files) {
      void* dl = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!dl) {
        const char* e = dlerror();
        last_error = e ? e : file + ": cannot open";
        continue;
      }
      std::shared_ptr<Library> lib(new Library(family, vendor, file, dl));
      if (auto st = lib->resolve(); !st) return st.error();
      return lib;
    }
    return environment_error(vendor + " not found (" + last_error + ")");
  }

  // Left loaded on purpose: a vendor BLAS unloaded before the runtime's own exit
  // handlers run can crash the process at exit.
  ~Library() = default;
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  // "cuBLAS 13.1.0 (/usr/local/cuda/lib64/libcublas.so.13.1.0.3)".
  std::string describe() const { return vendor_ + (version_.empty() ? "" : " " + version_) + " (" + path_ + ")"; }
  const Constants& constants() const { return constants_; }
  // Whether the library exports `name` (the tests' fake marks itself so).
  bool exports(const char* name) const { return sym(name) != nullptr; }

  // A handle on the current device, destroyed with the returned object.
  Result<std::shared_ptr<void>> create_handle() const {
    void* h = nullptr;
    if (int st = create_(&h); st != 0 || !h)
      return environment_error(vendor_ + " handle creation failed (status " + std::to_string(st) + ")");
    auto destroy = destroy_;
    return std::shared_ptr<void>(h, [destroy](void* p) { (void)destroy(p); });
  }

  Status set_stream(void* handle, void* stream) const {
    return status(set_stream_(handle, stream), "SetStream");
  }

  // Row-major C[rows x n_out] = A[rows x k] W[k x n_out], A and W of `type`, C
  // in FP32, FP32 accumulation. The libraries are column-major: that is
  // C^T = W^T A^T with W^T an n_out x k column-major matrix of leading
  // dimension n_out, which is W's row-major storage as it is.
  Status gemm(void* handle, int rows, int n_out, int k, const void* a, const void* w, int type, float* c) const {
    const float one = 1.0f, zero = 0.0f;
    const Constants& x = constants_;
    return status(gemm_(handle, x.op_n, x.op_n, n_out, rows, k, &one, w, type, n_out, a, type, k, &zero, c, x.f32,
                        n_out, x.compute_f32, x.algo_default),
                  "GemmEx");
  }

 private:
  Library(Family family, std::string vendor, std::string file, void* dl)
      : family_(family), vendor_(std::move(vendor)), path_(std::move(file)), dl_(dl) {}

  void* sym(const char* name) const { return dlsym(dl_, name); }

  Status resolve() {
    const bool cublas = family_ == Family::cublas;
    create_ = reinterpret_cast<int (*)(void**)>(sym(cublas ? "cublasCreate_v2" : "hipblasCreate"));
    destroy_ = reinterpret_cast<int (*)(void*)>(sym(cublas ? "cublasDestroy_v2" : "hipblasDestroy"));
    set_stream_ = reinterpret_cast<int (*)(void*, void*)>(sym(cublas ? "cublasSetStream_v2" : "hipblasSetStream"));
    if (cublas) {
      gemm_ = reinterpret_cast<GemmFn*>(sym("cublasGemmEx"));
      constants_ = cublas_constants;
      // cublasGetProperty(libraryPropertyType: MAJOR_VERSION 0, MINOR_VERSION 1, PATCH_LEVEL 2, int*).
      if (auto property = reinterpret_cast<int (*)(int, int*)>(sym("cublasGetProperty"))) {
        int v[3] = {};
        if (property(0, &v[0]) == 0 && property(1, &v[1]) == 0 && property(2, &v[2]) == 0)
          version_ = std::to_string(v[0]) + "." + std::to_string(v[1]) + "." + std::to_string(v[2]);
      }
    } else if (void* v2 = sym("hipblasGemmEx_v2")) {  // hipBLAS 2.x: the new form under its own name
      gemm_ = reinterpret_cast<GemmFn*>(v2);
      constants_ = hipblas_v2_constants;
    } else {
      gemm_ = reinterpret_cast<GemmFn*>(sym("hipblasGemmEx"));
      // hipBLAS 3.x (libhipblas.so.3) has only the new form, under the old name.
      constants_ = path_.find("libhipblas.so.3") != std::string::npos ? hipblas_v2_constants : hipblas_v1_constants;
    }
    if (!create_ || !destroy_ || !set_stream_ || !gemm_)
      return environment_error(vendor_ + " (" + path_ + ") lacks a function gpukit needs (create, destroy, set stream, GemmEx)");
    // The file behind the soname ("libhipblas.so.2.0.60000" says the release
    // where the library has no version call).
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(gemm_), &info) && info.dli_fname) {
      char real[PATH_MAX];
      path_ = realpath(info.dli_fname, real) ? real : info.dli_fname;
    }
    return {};
  }

  Status status(int st, const char* call) const {
    if (st == 0) return {};
    return environment_error(vendor_ + " " + call + " failed (status " + std::to_string(st) + ")");
  }

  Family family_;
  std::string vendor_, path_, version_;
  void* dl_;
  Constants constants_{};
  int (*create_)(void**) = nullptr;
  int (*destroy_)(void*) = nullptr;
  int (*set_stream_)(void*, void*) = nullptr;
  GemmFn* gemm_ = nullptr;
};

// The library's code for storage type S.
template <class S>
int type_code(const Constants& c) {
  if constexpr (std::is_same_v<S, hep::Half>) return c.f16;
  else if constexpr (std::is_same_v<S, hep::BFloat16>) return c.bf16;
  else return c.f32;
}

// Adds the bias to `rows` x `width` accumulators and stores the layer's output:
// ReLU and rounding to S into `act` for a hidden layer, the FP32 values into
// `out` for the last. The plugin launches a kernel; the fake loops on the host.
template <class S>
using BiasFn = std::function<Status(const float* acc, const S* bias, std::uint64_t rows, int width, S* act, float* out)>;

// The MLP of kernels/hep/mlp.cuh over the vendor GEMM: the same network, the
// workspace laid out as hep::mlp_gemm_workspace_bytes says, inputs already in
// the first activation buffer, y = x W + b per layer in FP32 and the
// activations rounded to S between layers as the tiled kernel does (only the
// order of the sums differs).
template <class S>
Status mlp_forward(const Library& lib, void* handle, const S* weights, const S* biases, std::uint64_t n, void* workspace,
                   float* out, const BiasFn<S>& bias) {
  if (n > std::uint64_t(INT32_MAX)) return usage_error("the vendor GEMM takes at most 2^31-1 rows");
  S* act[2] = {static_cast<S*>(workspace), static_cast<S*>(workspace) + n * hep::mlp_max_width};
  auto* acc = reinterpret_cast<float*>(act[1] + n * hep::mlp_max_width);
  const int type = type_code<S>(lib.constants());
  int cur = 0;
  for (int l = 0; l < hep::mlp_layers; ++l) {
    const int k = hep::mlp_width(l), n_out = hep::mlp_width(l + 1);
    if (auto st = lib.gemm(handle, int(n), n_out, k, act[cur], weights + hep::mlp_weight_offset(l), type, acc); !st)
      return st;
    const bool last = l + 1 == hep::mlp_layers;
    if (auto st = bias(acc, biases + hep::mlp_bias_offset(l), n, n_out, last ? nullptr : act[1 - cur], last ? out : nullptr);
        !st)
      return st;
    cur = 1 - cur;
  }
  return {};
}

}  // namespace gpukit::vendor_blas
