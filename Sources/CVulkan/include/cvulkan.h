// A small C layer over Vulkan compute for Cria's GPU module: open the loader at run time, list
// devices, create a compute context on one device, host-visible storage buffers, compute pipelines
// from SPIR-V with push constants, and synchronous dispatches.
//
// Nothing here exposes a Vulkan type, so this header compiles without the Vulkan headers. The
// implementation uses <vulkan/vulkan.h> (VK_NO_PROTOTYPES: every function comes from
// vkGetInstanceProcAddr, itself found with dlsym in the dlopen'ed loader) when the headers are
// present at build time; a build without them compiles, and every call reports
// CVK_STATUS_NOT_BUILT. No call aborts: each failure returns a status and fills a CVKError.
#ifndef CVULKAN_H
#define CVULKAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Why a call failed (CVK_STATUS_OK: it did not).
typedef enum {
    CVK_STATUS_OK = 0,
    /// The build had no Vulkan headers (libvulkan-dev); Vulkan is not available in this binary.
    CVK_STATUS_NOT_BUILT = 1,
    /// libvulkan.so.1 (the loader) could not be opened, or lacks vkGetInstanceProcAddr.
    CVK_STATUS_NO_LOADER = 2,
    /// The loader has no device (no driver installed), or the chosen index is out of range.
    CVK_STATUS_NO_DEVICE = 3,
    /// A Vulkan call returned an error; CVKError.vkResult holds its VkResult.
    CVK_STATUS_VULKAN_ERROR = 4,
    /// An argument is out of range (sizes, counts, SPIR-V that is not SPIR-V, limits of the device).
    CVK_STATUS_INVALID_ARGUMENT = 5,
    /// No suitable memory type, or malloc failed.
    CVK_STATUS_OUT_OF_MEMORY = 6,
} CVKStatus;

/// A failure: the status, the VkResult when a Vulkan call failed (else 0) and a sentence.
typedef struct {
    int32_t status;
    int32_t vkResult;
    char message[320];
} CVKError;

enum { CVK_MAX_HEAPS = 16, CVK_NAME_BYTES = 256 };

/// One physical device as the loader reports it.
typedef struct {
    char name[CVK_NAME_BYTES];
    /// VkPhysicalDeviceType: 0 other, 1 integrated GPU, 2 discrete GPU, 3 virtual GPU, 4 CPU.
    uint32_t deviceType;
    uint32_t apiVersion;
    uint32_t driverVersion;
    uint32_t vendorID;
    uint32_t deviceID;
    /// 0 when the device does not report it (Vulkan 1.0 devices).
    uint32_t subgroupSize;
    /// Whether some queue family supports compute.
    uint32_t hasCompute;
    uint32_t maxComputeWorkGroupInvocations;
    uint32_t maxComputeWorkGroupCount[3];
    uint32_t maxPushConstantsSize;
    uint32_t maxStorageBufferRange;
    uint32_t heapCount;
    uint64_t heapSize[CVK_MAX_HEAPS];
    /// 1 when the heap is device-local memory.
    uint32_t heapDeviceLocal[CVK_MAX_HEAPS];
    /// 1 when shaders may use 64-bit floats (shaderFloat64; enabled on the device when present).
    uint32_t shaderFloat64;
} CVKDeviceInfo;

typedef struct CVKContext CVKContext;
typedef struct CVKBuffer CVKBuffer;
typedef struct CVKPipeline CVKPipeline;

/// Whether this binary was built with the Vulkan headers (1) or without (0).
int cvk_built_with_vulkan(void);

/// Opens the loader once (thread-safe). `CRIA_VULKAN_LOADER` in the environment names another
/// file to open instead of libvulkan.so.1 (used by tests to check the missing-loader message).
CVKStatus cvk_loader_open(CVKError *error);

/// Fills up to `capacity` entries of `devices` and sets `*count` to the number of devices.
CVKStatus cvk_list_devices(CVKDeviceInfo *devices, uint32_t capacity, uint32_t *count, CVKError *error);

/// A logical device with one compute queue on physical device `index` (in cvk_list_devices order).
CVKContext *cvk_context_create(uint32_t index, CVKDeviceInfo *info, CVKError *error);
void cvk_context_destroy(CVKContext *context);

/// A host-visible, host-coherent storage buffer of `bytes` bytes, mapped for its whole life.
CVKBuffer *cvk_buffer_create(CVKContext *context, uint64_t bytes, CVKError *error);
void *cvk_buffer_contents(CVKBuffer *buffer);
uint64_t cvk_buffer_size(const CVKBuffer *buffer);
void cvk_buffer_destroy(CVKBuffer *buffer);

/// A compute pipeline from SPIR-V (`words` 32-bit words, entry point "main") whose shader reads
/// `bindingCount` storage buffers at set 0, bindings 0..bindingCount-1, and `pushConstantBytes`
/// bytes of push constants (a multiple of 4, at most the device's limit).
CVKPipeline *cvk_pipeline_create(CVKContext *context, const uint32_t *spirv, size_t words, uint32_t bindingCount,
                                 uint32_t pushConstantBytes, CVKError *error);
void cvk_pipeline_destroy(CVKPipeline *pipeline);

/// Binds `buffers` (exactly the pipeline's binding count), pushes `pushConstantBytes` bytes
/// (exactly the pipeline's), dispatches groups[0]×groups[1]×groups[2] workgroups and waits for
/// the queue to finish. Calls on one context are serialized.
CVKStatus cvk_pipeline_run(CVKContext *context, CVKPipeline *pipeline, CVKBuffer *const *buffers, uint32_t bufferCount,
                           const void *pushConstants, uint32_t pushConstantBytes, const uint32_t groups[3],
                           CVKError *error);

/// One embedded shader: its name (the .comp file's stem) and its SPIR-V words.
typedef struct {
    const char *name;
    const uint32_t *words;
    size_t wordCount;
} CVKShader;

/// The embedded shaders (written by scripts/build-shaders into shaders_spirv.c).
extern const CVKShader cvk_shaders[];
extern const size_t cvk_shader_count;

/// The embedded shader called `name`, or NULL.
const CVKShader *cvk_shader_find(const char *name);

#ifdef __cplusplus
}
#endif

#endif
