// The part of NVML's C interface (nvml.h, CUDA 12.x) that gpukit uses, declared
// here so that no NVIDIA header is needed to build. Layouts are pinned by the
// static_asserts below; the fake libraries in tests/fakes/nvidia share them.
#pragma once

#include <cstddef>

namespace gpukit::detail::nvml {

// nvmlReturn_t (a C enum: int-sized).
enum nvmlReturn_t : int {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_NO_PERMISSION = 4,
  NVML_ERROR_ALREADY_INITIALIZED = 5,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_INSUFFICIENT_POWER = 8,
  NVML_ERROR_DRIVER_NOT_LOADED = 9,
  NVML_ERROR_TIMEOUT = 10,
  NVML_ERROR_IRQ_ISSUE = 11,
  NVML_ERROR_LIBRARY_NOT_FOUND = 12,
  NVML_ERROR_FUNCTION_NOT_FOUND = 13,
  NVML_ERROR_CORRUPTED_INFOROM = 14,
  NVML_ERROR_GPU_IS_LOST = 15,
  NVML_ERROR_RESET_REQUIRED = 16,
  NVML_ERROR_OPERATING_SYSTEM = 17,
  NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
  NVML_ERROR_IN_USE = 19,
  NVML_ERROR_MEMORY = 20,
  NVML_ERROR_NO_DATA = 21,
  NVML_ERROR_UNKNOWN = 999,
};

enum nvmlEnableState_t : int { NVML_FEATURE_DISABLED = 0, NVML_FEATURE_ENABLED = 1 };

enum nvmlClockType_t : int { NVML_CLOCK_GRAPHICS = 0, NVML_CLOCK_SM = 1, NVML_CLOCK_MEM = 2, NVML_CLOCK_VIDEO = 3 };

enum nvmlComputeMode_t : int {
  NVML_COMPUTEMODE_DEFAULT = 0,
  NVML_COMPUTEMODE_EXCLUSIVE_THREAD = 1,  // removed from drivers long ago; reported as exclusive_process
  NVML_COMPUTEMODE_PROHIBITED = 2,
  NVML_COMPUTEMODE_EXCLUSIVE_PROCESS = 3,
};

enum nvmlTemperatureSensors_t : int { NVML_TEMPERATURE_GPU = 0 };
enum nvmlMemoryErrorType_t : int { NVML_MEMORY_ERROR_TYPE_CORRECTED = 0, NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1 };
enum nvmlEccCounterType_t : int { NVML_VOLATILE_ECC = 0, NVML_AGGREGATE_ECC = 1 };

// nvmlDeviceGetMigMode's current/pending mode.
constexpr unsigned int NVML_DEVICE_MIG_DISABLE = 0;
constexpr unsigned int NVML_DEVICE_MIG_ENABLE = 1;

// nvmlProcessInfo_t::usedGpuMemory when the driver cannot tell (e.g. WDDM, some MIG setups).
constexpr unsigned long long NVML_VALUE_NOT_AVAILABLE = ~0ULL;

// nvmlClocksEventReason* / nvmlClocksThrottleReason* bits.
constexpr unsigned long long nvmlClocksEventReasonGpuIdle = 0x1;
constexpr unsigned long long nvmlClocksEventReasonApplicationsClocksSetting = 0x2;
constexpr unsigned long long nvmlClocksEventReasonSwPowerCap = 0x4;
constexpr unsigned long long nvmlClocksEventReasonHwSlowdown = 0x8;
constexpr unsigned long long nvmlClocksEventReasonSyncBoost = 0x10;
constexpr unsigned long long nvmlClocksEventReasonSwThermalSlowdown = 0x20;
constexpr unsigned long long nvmlClocksEventReasonHwThermalSlowdown = 0x40;
constexpr unsigned long long nvmlClocksEventReasonHwPowerBrakeSlowdown = 0x80;
constexpr unsigned long long nvmlClocksEventReasonDisplayClockSetting = 0x100;

constexpr unsigned int NVML_DEVICE_NAME_BUFFER_SIZE = 96;  // NVML_DEVICE_NAME_V2_BUFFER_SIZE
constexpr unsigned int NVML_DEVICE_UUID_BUFFER_SIZE = 96;  // NVML_DEVICE_UUID_V2_BUFFER_SIZE
constexpr unsigned int NVML_SYSTEM_VERSION_BUFFER_SIZE = 80;
constexpr unsigned int NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE = 32;
constexpr unsigned int NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE = 16;

struct nvmlDevice_st;
using nvmlDevice_t = nvmlDevice_st*;

// The layout taken by nvmlDeviceGetPciInfo_v2 and _v3.
struct nvmlPciInfo_t {
  char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];  // "0000:17:00.0"
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;  // device id << 16 | vendor id (0x10de)
  unsigned int pciSubSystemId;
  char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];  // "00000000:17:00.0"
};

// The layout taken by the unversioned nvmlDeviceGetPciInfo (before NVML 9): the
// bus id sits where busIdLegacy is now, so a v3-sized buffer serves both.
struct nvmlPciInfo_v1_t {
  char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;
  unsigned int pciSubSystemId;
  unsigned int reserved0, reserved1, reserved2, reserved3;
};

struct nvmlMemory_t {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

struct nvmlUtilization_t {
  unsigned int gpu;     // percent of time a kernel was running
  unsigned int memory;  // percent of time device memory was read or written
};

// nvmlDeviceGetComputeRunningProcesses_v2/_v3.
struct nvmlProcessInfo_t {
  unsigned int pid;
  unsigned long long usedGpuMemory;  // bytes
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};

// The unversioned nvmlDeviceGetComputeRunningProcesses.
struct nvmlProcessInfo_v1_t {
  unsigned int pid;
  unsigned long long usedGpuMemory;
};

struct nvmlProcessUtilizationSample_t {
  unsigned int pid;
  unsigned long long timeStamp;  // CPU time stamp, microseconds
  unsigned int smUtil;
  unsigned int memUtil;
  unsigned int encUtil;
  unsigned int decUtil;
};

// nvmlDeviceGetAttributes_v2; the unversioned call fills the first six fields.
struct nvmlDeviceAttributes_t {
  unsigned int multiprocessorCount;
  unsigned int sharedCopyEngineCount;
  unsigned int sharedDecoderCount;
  unsigned int sharedEncoderCount;
  unsigned int sharedJpegCount;
  unsigned int sharedOfaCount;
  unsigned int gpuInstanceSliceCount;
  unsigned int computeInstanceSliceCount;
  unsigned long long memorySizeMB;  // MiB
};

static_assert(sizeof(nvmlPciInfo_t) == 68 && offsetof(nvmlPciInfo_t, busId) == 36);
static_assert(sizeof(nvmlPciInfo_v1_t) <= sizeof(nvmlPciInfo_t));
static_assert(sizeof(nvmlProcessInfo_t) == 24 && sizeof(nvmlProcessInfo_v1_t) == 16);
static_assert(sizeof(nvmlProcessUtilizationSample_t) == 32);
static_assert(sizeof(nvmlDeviceAttributes_t) == 40 && offsetof(nvmlDeviceAttributes_t, memorySizeMB) == 32);

// Function types, named after the entry points without their version suffix.
using nvmlErrorString_fn = const char*(nvmlReturn_t);
using nvmlInit_fn = nvmlReturn_t();
using nvmlShutdown_fn = nvmlReturn_t();
using nvmlSystemGetString_fn = nvmlReturn_t(char*, unsigned int);  // driver and NVML versions
using nvmlSystemGetCudaDriverVersion_fn = nvmlReturn_t(int*);
using nvmlDeviceGetCount_fn = nvmlReturn_t(unsigned int*);
using nvmlDeviceGetHandleByIndex_fn = nvmlReturn_t(unsigned int, nvmlDevice_t*);
using nvmlDeviceGetString_fn = nvmlReturn_t(nvmlDevice_t, char*, unsigned int);  // name, UUID
using nvmlDeviceGetPciInfo_fn = nvmlReturn_t(nvmlDevice_t, nvmlPciInfo_t*);
using nvmlDeviceGetMemoryInfo_fn = nvmlReturn_t(nvmlDevice_t, nvmlMemory_t*);
using nvmlDeviceGetCudaComputeCapability_fn = nvmlReturn_t(nvmlDevice_t, int*, int*);
using nvmlDeviceGetClock_fn = nvmlReturn_t(nvmlDevice_t, nvmlClockType_t, unsigned int*);
using nvmlDeviceGetUInt_fn = nvmlReturn_t(nvmlDevice_t, unsigned int*);  // bus width, limits, PCIe, ids, counts
using nvmlDeviceGetULongLong_fn = nvmlReturn_t(nvmlDevice_t, unsigned long long*);  // energy, clock reasons
using nvmlDeviceGetEccMode_fn = nvmlReturn_t(nvmlDevice_t, nvmlEnableState_t*, nvmlEnableState_t*);
using nvmlDeviceGetComputeMode_fn = nvmlReturn_t(nvmlDevice_t, nvmlComputeMode_t*);
using nvmlDeviceGetMigMode_fn = nvmlReturn_t(nvmlDevice_t, unsigned int*, unsigned int*);
using nvmlDeviceGetMigDeviceHandleByIndex_fn = nvmlReturn_t(nvmlDevice_t, unsigned int, nvmlDevice_t*);
using nvmlDeviceGetAttributes_fn = nvmlReturn_t(nvmlDevice_t, nvmlDeviceAttributes_t*);
using nvmlDeviceGetUtilizationRates_fn = nvmlReturn_t(nvmlDevice_t, nvmlUtilization_t*);
using nvmlDeviceGetTemperature_fn = nvmlReturn_t(nvmlDevice_t, nvmlTemperatureSensors_t, unsigned int*);
using nvmlDeviceGetTotalEccErrors_fn = nvmlReturn_t(nvmlDevice_t, nvmlMemoryErrorType_t, nvmlEccCounterType_t,
                                                    unsigned long long*);
// The element type depends on the version resolved (nvmlProcessInfo_t or _v1_t).
using nvmlDeviceGetComputeRunningProcesses_fn = nvmlReturn_t(nvmlDevice_t, unsigned int*, void*);
using nvmlDeviceGetProcessUtilization_fn = nvmlReturn_t(nvmlDevice_t, nvmlProcessUtilizationSample_t*,
                                                        unsigned int*, unsigned long long);

// --- Health (gpuprobe --health; nvml.h of CUDA 12.x) ---

enum nvmlPageRetirementCause_t : int {
  NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS = 0,
  NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR = 1,
};

// nvmlGpuFabricState_t (an unsigned char).
constexpr unsigned char NVML_GPU_FABRIC_STATE_NOT_SUPPORTED = 0;
constexpr unsigned char NVML_GPU_FABRIC_STATE_NOT_STARTED = 1;
constexpr unsigned char NVML_GPU_FABRIC_STATE_IN_PROGRESS = 2;
constexpr unsigned char NVML_GPU_FABRIC_STATE_COMPLETED = 3;
constexpr unsigned int NVML_GPU_FABRIC_UUID_LEN = 16;

// nvmlDeviceGetGpuFabricInfo (R535).
struct nvmlGpuFabricInfo_t {
  unsigned char clusterUuid[NVML_GPU_FABRIC_UUID_LEN];
  nvmlReturn_t status;  // the fabric manager's outcome for this GPU
  unsigned int cliqueId;
  unsigned char state;
};

// nvmlDeviceGetGpuFabricInfoV with version nvmlGpuFabricInfo_v2 (R550).
struct nvmlGpuFabricInfo_v2_t {
  unsigned int version;
  unsigned char clusterUuid[NVML_GPU_FABRIC_UUID_LEN];
  nvmlReturn_t status;
  unsigned int cliqueId;
  unsigned char state;
  unsigned int healthMask;
};
// NVML_STRUCT_VERSION(GpuFabricInfo, 2): the size with the version in the top byte.
constexpr unsigned int nvmlGpuFabricInfo_v2 = static_cast<unsigned int>(sizeof(nvmlGpuFabricInfo_v2_t)) | (2u << 24);

struct nvmlEventSet_st;
using nvmlEventSet_t = nvmlEventSet_st*;
constexpr unsigned long long nvmlEventTypeXidCriticalError = 0x8;
// gpuaccount's error events (nvml.h nvmlEventType*).
constexpr unsigned long long nvmlEventTypeSingleBitEccError = 0x1;
constexpr unsigned long long nvmlEventTypeDoubleBitEccError = 0x2;
// nvmlEventData_t::gpuInstanceId of an event not attributable to a GPU instance.
constexpr unsigned int NVML_EVENT_NO_GPU_INSTANCE = 0xFFFFFFFFu;

struct nvmlEventData_t {
  nvmlDevice_t device;
  unsigned long long eventType;
  unsigned long long eventData;  // the Xid
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};

static_assert(sizeof(nvmlGpuFabricInfo_t) == 28 && sizeof(nvmlGpuFabricInfo_v2_t) == 36);
static_assert(sizeof(nvmlEventData_t) == 32);

using nvmlDeviceGetRemappedRows_fn = nvmlReturn_t(nvmlDevice_t, unsigned int* corrected_rows,
                                                  unsigned int* uncorrected_rows, unsigned int* pending,
                                                  unsigned int* failure);
// nvmlDeviceGetRetiredPages; _v2 adds a time-stamp array, null here (only the count is asked).
using nvmlDeviceGetRetiredPages_fn = nvmlReturn_t(nvmlDevice_t, nvmlPageRetirementCause_t, unsigned int* count,
                                                  unsigned long long* addresses);
using nvmlDeviceGetRetiredPages_v2_fn = nvmlReturn_t(nvmlDevice_t, nvmlPageRetirementCause_t, unsigned int* count,
                                                     unsigned long long* addresses, unsigned long long* timestamps);
using nvmlDeviceGetEnableState_fn = nvmlReturn_t(nvmlDevice_t, nvmlEnableState_t*);  // pending retirement, persistence
using nvmlDeviceValidateInforom_fn = nvmlReturn_t(nvmlDevice_t);
using nvmlDeviceGetGpuFabricInfo_fn = nvmlReturn_t(nvmlDevice_t, nvmlGpuFabricInfo_t*);
using nvmlDeviceGetGpuFabricInfoV_fn = nvmlReturn_t(nvmlDevice_t, nvmlGpuFabricInfo_v2_t*);
using nvmlEventSetCreate_fn = nvmlReturn_t(nvmlEventSet_t*);
using nvmlDeviceRegisterEvents_fn = nvmlReturn_t(nvmlDevice_t, unsigned long long, nvmlEventSet_t);
using nvmlEventSetWait_fn = nvmlReturn_t(nvmlEventSet_t, nvmlEventData_t*, unsigned int timeout_ms);
using nvmlEventSetFree_fn = nvmlReturn_t(nvmlEventSet_t);

}  // namespace gpukit::detail::nvml
