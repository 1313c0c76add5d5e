// The HIP twin of axpy.cu: compiled with explicit --offload-arch, never run.
#include <hip/hip_runtime.h>

__global__ void axpy(float a, const float* x, float* y, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}

int main() {
  hipLaunchKernelGGL(axpy, dim3(1), dim3(32), 0, 0, 2.0f, nullptr, nullptr, 0);
  return 0;
}
