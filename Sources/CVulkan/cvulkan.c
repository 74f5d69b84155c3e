// Vulkan compute through the loader opened at run time (see include/cvulkan.h for the contract).
#include "cvulkan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_error(CVKError *error, CVKStatus status, int32_t vkResult, const char *format, ...) {
    if (!error) return;
    error->status = status;
    error->vkResult = vkResult;
    va_list args;
    va_start(args, format);
    vsnprintf(error->message, sizeof error->message, format, args);
    va_end(args);
}

const CVKShader *cvk_shader_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < cvk_shader_count; i++) {
        if (strcmp(cvk_shaders[i].name, name) == 0) return &cvk_shaders[i];
    }
    return NULL;
}

// The default build must compile on a machine without libvulkan-dev; such a build reports
// CVK_STATUS_NOT_BUILT from every call (CRIA_VULKAN_NO_HEADERS forces it, to check it compiles).
#if defined(__has_include) && !defined(CRIA_VULKAN_NO_HEADERS)
#if __has_include(<vulkan/vulkan.h>)
#define CVK_HAVE_HEADERS 1
#endif
#endif

#ifndef CVK_HAVE_HEADERS

int cvk_built_with_vulkan(void) { return 0; }

static CVKStatus not_built(CVKError *error) {
    set_error(error, CVK_STATUS_NOT_BUILT, 0,
              "this cria was built without the Vulkan headers (install libvulkan-dev and rebuild)");
    return CVK_STATUS_NOT_BUILT;
}

CVKStatus cvk_loader_open(CVKError *error) { return not_built(error); }
CVKStatus cvk_list_devices(CVKDeviceInfo *devices, uint32_t capacity, uint32_t *count, CVKError *error) {
    (void)devices; (void)capacity;
    if (count) *count = 0;
    return not_built(error);
}
CVKContext *cvk_context_create(uint32_t index, CVKDeviceInfo *info, CVKError *error) {
    (void)index; (void)info;
    not_built(error);
    return NULL;
}
void cvk_context_destroy(CVKContext *context) { (void)context; }
CVKBuffer *cvk_buffer_create(CVKContext *context, uint64_t bytes, CVKError *error) {
    (void)context; (void)bytes;
    not_built(error);
    return NULL;
}
void *cvk_buffer_contents(CVKBuffer *buffer) { (void)buffer; return NULL; }
uint64_t cvk_buffer_size(const CVKBuffer *buffer) { (void)buffer; return 0; }
void cvk_buffer_destroy(CVKBuffer *buffer) { (void)buffer; }
CVKPipeline *cvk_pipeline_create(CVKContext *context, const uint32_t *spirv, size_t words, uint32_t bindingCount,
                                 uint32_t pushConstantBytes, CVKError *error) {
    (void)context; (void)spirv; (void)words; (void)bindingCount; (void)pushConstantBytes;
    not_built(error);
    return NULL;
}
void cvk_pipeline_destroy(CVKPipeline *pipeline) { (void)pipeline; }
CVKStatus cvk_pipeline_run(CVKContext *context, CVKPipeline *pipeline, CVKBuffer *const *buffers, uint32_t bufferCount,
                           const void *pushConstants, uint32_t pushConstantBytes, const uint32_t groups[3],
                           CVKError *error) {
    (void)context; (void)pipeline; (void)buffers; (void)bufferCount; (void)pushConstants; (void)pushConstantBytes;
    (void)groups;
    return not_built(error);
}

#else

#define VK_NO_PROTOTYPES 1
#include <vulkan/vulkan.h>

#include <dlfcn.h>
#include <pthread.h>

int cvk_built_with_vulkan(void) { return 1; }

static void clear_error(CVKError *error) {
    if (!error) return;
    error->status = CVK_STATUS_OK;
    error->vkResult = 0;
    error->message[0] = 0;
}

// MARK: Loader

#if defined(__APPLE__)
static const char *const default_loader = "libvulkan.1.dylib";
#else
static const char *const default_loader = "libvulkan.so.1";
#endif

static pthread_once_t loader_once = PTHREAD_ONCE_INIT;
static PFN_vkGetInstanceProcAddr get_instance_proc;
static char loader_failure[256];

static void open_loader(void) {
    const char *override = getenv("CRIA_VULKAN_LOADER");
    const char *path = override && *override ? override : default_loader;
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *reason = dlerror();
        snprintf(loader_failure, sizeof loader_failure,
                 "no Vulkan loader (%s): install mesa-vulkan-drivers (it brings the loader, libvulkan1) or your "
                 "GPU's Vulkan driver [%s]",
                 path, reason ? reason : "not found");
        return;
    }
    get_instance_proc = (PFN_vkGetInstanceProcAddr)dlsym(library, "vkGetInstanceProcAddr");
    if (!get_instance_proc) {
        snprintf(loader_failure, sizeof loader_failure, "the Vulkan loader %s has no vkGetInstanceProcAddr", path);
    }
}

CVKStatus cvk_loader_open(CVKError *error) {
    clear_error(error);
    pthread_once(&loader_once, open_loader);
    if (!get_instance_proc) {
        set_error(error, CVK_STATUS_NO_LOADER, 0, "%s", loader_failure);
        return CVK_STATUS_NO_LOADER;
    }
    return CVK_STATUS_OK;
}

// MARK: Instance and its functions

/// Instance-level functions, loaded once per instance.
typedef struct {
    VkInstance instance;
    PFN_vkDestroyInstance DestroyInstance;
    PFN_vkEnumeratePhysicalDevices EnumeratePhysicalDevices;
    PFN_vkGetPhysicalDeviceProperties GetPhysicalDeviceProperties;
    PFN_vkGetPhysicalDeviceFeatures GetPhysicalDeviceFeatures;
    PFN_vkGetPhysicalDeviceProperties2 GetPhysicalDeviceProperties2;
    PFN_vkGetPhysicalDeviceMemoryProperties GetPhysicalDeviceMemoryProperties;
    PFN_vkGetPhysicalDeviceQueueFamilyProperties GetPhysicalDeviceQueueFamilyProperties;
    PFN_vkCreateDevice CreateDevice;
    PFN_vkGetDeviceProcAddr GetDeviceProcAddr;
    uint32_t apiVersion;
} Instance;

static void instance_destroy(Instance *instance) {
    if (instance->instance && instance->DestroyInstance) instance->DestroyInstance(instance->instance, NULL);
    instance->instance = VK_NULL_HANDLE;
}

#define LOAD_INSTANCE(inst, name)                                                               \
    (inst)->name = (PFN_vk##name)get_instance_proc((inst)->instance, "vk" #name);               \
    if (!(inst)->name) {                                                                        \
        set_error(error, CVK_STATUS_VULKAN_ERROR, 0, "the Vulkan loader has no vk" #name);      \
        instance_destroy(inst);                                                                 \
        return CVK_STATUS_VULKAN_ERROR;                                                         \
    }

static CVKStatus instance_create(Instance *out, CVKError *error) {
    memset(out, 0, sizeof *out);
    CVKStatus status = cvk_loader_open(error);
    if (status != CVK_STATUS_OK) return status;

    // vkEnumerateInstanceVersion is absent from 1.0 loaders; those get a 1.0 instance.
    uint32_t loaderVersion = VK_API_VERSION_1_0;
    PFN_vkEnumerateInstanceVersion enumerateVersion =
        (PFN_vkEnumerateInstanceVersion)get_instance_proc(VK_NULL_HANDLE, "vkEnumerateInstanceVersion");
    if (enumerateVersion && enumerateVersion(&loaderVersion) != VK_SUCCESS) loaderVersion = VK_API_VERSION_1_0;
    out->apiVersion = loaderVersion >= VK_API_VERSION_1_1 ? VK_API_VERSION_1_1 : VK_API_VERSION_1_0;

    PFN_vkCreateInstance createInstance = (PFN_vkCreateInstance)get_instance_proc(VK_NULL_HANDLE, "vkCreateInstance");
    if (!createInstance) {
        set_error(error, CVK_STATUS_NO_LOADER, 0, "the Vulkan loader has no vkCreateInstance");
        return CVK_STATUS_NO_LOADER;
    }
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "cria",
        .pEngineName = "cria",
        .apiVersion = out->apiVersion,
    };
    VkInstanceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
    VkResult result = createInstance(&info, NULL, &out->instance);
    if (result == VK_ERROR_INCOMPATIBLE_DRIVER) {
        set_error(error, CVK_STATUS_NO_DEVICE, result,
                  "no Vulkan driver (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER); install mesa-vulkan-drivers "
                  "or your GPU's Vulkan driver");
        return CVK_STATUS_NO_DEVICE;
    }
    if (result != VK_SUCCESS) {
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "vkCreateInstance failed (VkResult %d)", (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    LOAD_INSTANCE(out, DestroyInstance)
    LOAD_INSTANCE(out, EnumeratePhysicalDevices)
    LOAD_INSTANCE(out, GetPhysicalDeviceProperties)
    LOAD_INSTANCE(out, GetPhysicalDeviceFeatures)
    LOAD_INSTANCE(out, GetPhysicalDeviceMemoryProperties)
    LOAD_INSTANCE(out, GetPhysicalDeviceQueueFamilyProperties)
    LOAD_INSTANCE(out, CreateDevice)
    LOAD_INSTANCE(out, GetDeviceProcAddr)
    // Only a 1.1 instance has it; without it the subgroup size stays unreported (0).
    out->GetPhysicalDeviceProperties2 = out->apiVersion >= VK_API_VERSION_1_1
        ? (PFN_vkGetPhysicalDeviceProperties2)get_instance_proc(out->instance, "vkGetPhysicalDeviceProperties2")
        : NULL;
    return CVK_STATUS_OK;
}

/// The physical devices of `instance` (at most 64; more are ignored), malloc'ed.
static CVKStatus physical_devices(Instance *instance, VkPhysicalDevice **out, uint32_t *count, CVKError *error) {
    *out = NULL;
    *count = 0;
    uint32_t n = 0;
    VkResult result = instance->EnumeratePhysicalDevices(instance->instance, &n, NULL);
    if (result != VK_SUCCESS) {
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "vkEnumeratePhysicalDevices failed (VkResult %d)", (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    if (n == 0) return CVK_STATUS_OK;
    if (n > 64) n = 64;
    VkPhysicalDevice *list = calloc(n, sizeof *list);
    if (!list) {
        set_error(error, CVK_STATUS_OUT_OF_MEMORY, 0, "out of memory listing Vulkan devices");
        return CVK_STATUS_OUT_OF_MEMORY;
    }
    result = instance->EnumeratePhysicalDevices(instance->instance, &n, list);
    if (result != VK_SUCCESS && result != VK_INCOMPLETE) {
        free(list);
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "vkEnumeratePhysicalDevices failed (VkResult %d)", (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    *out = list;
    *count = n;
    return CVK_STATUS_OK;
}

/// The first queue family with compute, or UINT32_MAX.
static uint32_t compute_queue_family(Instance *instance, VkPhysicalDevice device) {
    uint32_t n = 0;
    instance->GetPhysicalDeviceQueueFamilyProperties(device, &n, NULL);
    if (n == 0 || n > 256) return UINT32_MAX;
    VkQueueFamilyProperties families[256];
    instance->GetPhysicalDeviceQueueFamilyProperties(device, &n, families);
    for (uint32_t i = 0; i < n; i++) {
        if ((families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && families[i].queueCount > 0) return i;
    }
    return UINT32_MAX;
}

static void describe_device(Instance *instance, VkPhysicalDevice device, CVKDeviceInfo *info) {
    memset(info, 0, sizeof *info);
    VkPhysicalDeviceProperties properties;
    VkPhysicalDeviceSubgroupProperties subgroup = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    if (instance->GetPhysicalDeviceProperties2) {
        VkPhysicalDeviceProperties2 properties2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                                   .pNext = &subgroup};
        instance->GetPhysicalDeviceProperties2(device, &properties2);
        properties = properties2.properties;
        info->subgroupSize = subgroup.subgroupSize;
    } else {
        instance->GetPhysicalDeviceProperties(device, &properties);
    }
    snprintf(info->name, sizeof info->name, "%s", properties.deviceName);
    info->deviceType = (uint32_t)properties.deviceType;
    info->apiVersion = properties.apiVersion;
    info->driverVersion = properties.driverVersion;
    info->vendorID = properties.vendorID;
    info->deviceID = properties.deviceID;
    info->maxComputeWorkGroupInvocations = properties.limits.maxComputeWorkGroupInvocations;
    for (int i = 0; i < 3; i++) info->maxComputeWorkGroupCount[i] = properties.limits.maxComputeWorkGroupCount[i];
    info->maxPushConstantsSize = properties.limits.maxPushConstantsSize;
    info->maxStorageBufferRange = properties.limits.maxStorageBufferRange;
    info->hasCompute = compute_queue_family(instance, device) != UINT32_MAX;
    VkPhysicalDeviceFeatures features;
    instance->GetPhysicalDeviceFeatures(device, &features);
    info->shaderFloat64 = features.shaderFloat64 == VK_TRUE;

    VkPhysicalDeviceMemoryProperties memory;
    instance->GetPhysicalDeviceMemoryProperties(device, &memory);
    uint32_t heaps = memory.memoryHeapCount < CVK_MAX_HEAPS ? memory.memoryHeapCount : CVK_MAX_HEAPS;
    info->heapCount = heaps;
    for (uint32_t i = 0; i < heaps; i++) {
        info->heapSize[i] = memory.memoryHeaps[i].size;
        info->heapDeviceLocal[i] = (memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
    }
}

CVKStatus cvk_list_devices(CVKDeviceInfo *devices, uint32_t capacity, uint32_t *count, CVKError *error) {
    clear_error(error);
    if (count) *count = 0;
    Instance instance;
    CVKStatus status = instance_create(&instance, error);
    if (status != CVK_STATUS_OK) return status;
    VkPhysicalDevice *list;
    uint32_t n;
    status = physical_devices(&instance, &list, &n, error);
    if (status == CVK_STATUS_OK) {
        for (uint32_t i = 0; i < n && i < capacity && devices; i++) describe_device(&instance, list[i], &devices[i]);
        if (count) *count = n;
        free(list);
    }
    instance_destroy(&instance);
    return status;
}

// MARK: Context

struct CVKContext {
    Instance instance;
    VkPhysicalDevice physical;
    CVKDeviceInfo info;
    VkDevice device;
    VkQueue queue;
    VkCommandPool commandPool;
    VkCommandBuffer commandBuffer;
    VkFence fence;
    uint32_t hostMemoryType;
    pthread_mutex_t lock;

    PFN_vkDestroyDevice DestroyDevice;
    PFN_vkGetDeviceQueue GetDeviceQueue;
    PFN_vkCreateBuffer CreateBuffer;
    PFN_vkDestroyBuffer DestroyBuffer;
    PFN_vkGetBufferMemoryRequirements GetBufferMemoryRequirements;
    PFN_vkAllocateMemory AllocateMemory;
    PFN_vkFreeMemory FreeMemory;
    PFN_vkBindBufferMemory BindBufferMemory;
    PFN_vkMapMemory MapMemory;
    PFN_vkCreateShaderModule CreateShaderModule;
    PFN_vkDestroyShaderModule DestroyShaderModule;
    PFN_vkCreateDescriptorSetLayout CreateDescriptorSetLayout;
    PFN_vkDestroyDescriptorSetLayout DestroyDescriptorSetLayout;
    PFN_vkCreatePipelineLayout CreatePipelineLayout;
    PFN_vkDestroyPipelineLayout DestroyPipelineLayout;
    PFN_vkCreateComputePipelines CreateComputePipelines;
    PFN_vkDestroyPipeline DestroyPipeline;
    PFN_vkCreateDescriptorPool CreateDescriptorPool;
    PFN_vkDestroyDescriptorPool DestroyDescriptorPool;
    PFN_vkAllocateDescriptorSets AllocateDescriptorSets;
    PFN_vkUpdateDescriptorSets UpdateDescriptorSets;
    PFN_vkCreateCommandPool CreateCommandPool;
    PFN_vkDestroyCommandPool DestroyCommandPool;
    PFN_vkAllocateCommandBuffers AllocateCommandBuffers;
    PFN_vkResetCommandBuffer ResetCommandBuffer;
    PFN_vkBeginCommandBuffer BeginCommandBuffer;
    PFN_vkEndCommandBuffer EndCommandBuffer;
    PFN_vkCmdBindPipeline CmdBindPipeline;
    PFN_vkCmdBindDescriptorSets CmdBindDescriptorSets;
    PFN_vkCmdPushConstants CmdPushConstants;
    PFN_vkCmdDispatch CmdDispatch;
    PFN_vkCmdPipelineBarrier CmdPipelineBarrier;
    PFN_vkCreateFence CreateFence;
    PFN_vkDestroyFence DestroyFence;
    PFN_vkResetFences ResetFences;
    PFN_vkWaitForFences WaitForFences;
    PFN_vkQueueSubmit QueueSubmit;
    PFN_vkDeviceWaitIdle DeviceWaitIdle;
};

#define LOAD_DEVICE(ctx, name)                                                                  \
    (ctx)->name = (PFN_vk##name)(ctx)->instance.GetDeviceProcAddr((ctx)->device, "vk" #name);   \
    if (!(ctx)->name) {                                                                         \
        set_error(error, CVK_STATUS_VULKAN_ERROR, 0, "the Vulkan device has no vk" #name);      \
        return CVK_STATUS_VULKAN_ERROR;                                                         \
    }

static CVKStatus load_device_functions(CVKContext *c, CVKError *error) {
    LOAD_DEVICE(c, DestroyDevice)
    LOAD_DEVICE(c, GetDeviceQueue)
    LOAD_DEVICE(c, CreateBuffer)
    LOAD_DEVICE(c, DestroyBuffer)
    LOAD_DEVICE(c, GetBufferMemoryRequirements)
    LOAD_DEVICE(c, AllocateMemory)
    LOAD_DEVICE(c, FreeMemory)
    LOAD_DEVICE(c, BindBufferMemory)
    LOAD_DEVICE(c, MapMemory)
    LOAD_DEVICE(c, CreateShaderModule)
    LOAD_DEVICE(c, DestroyShaderModule)
    LOAD_DEVICE(c, CreateDescriptorSetLayout)
    LOAD_DEVICE(c, DestroyDescriptorSetLayout)
    LOAD_DEVICE(c, CreatePipelineLayout)
    LOAD_DEVICE(c, DestroyPipelineLayout)
    LOAD_DEVICE(c, CreateComputePipelines)
    LOAD_DEVICE(c, DestroyPipeline)
    LOAD_DEVICE(c, CreateDescriptorPool)
    LOAD_DEVICE(c, DestroyDescriptorPool)
    LOAD_DEVICE(c, AllocateDescriptorSets)
    LOAD_DEVICE(c, UpdateDescriptorSets)
    LOAD_DEVICE(c, CreateCommandPool)
    LOAD_DEVICE(c, DestroyCommandPool)
    LOAD_DEVICE(c, AllocateCommandBuffers)
    LOAD_DEVICE(c, ResetCommandBuffer)
    LOAD_DEVICE(c, BeginCommandBuffer)
    LOAD_DEVICE(c, EndCommandBuffer)
    LOAD_DEVICE(c, CmdBindPipeline)
    LOAD_DEVICE(c, CmdBindDescriptorSets)
    LOAD_DEVICE(c, CmdPushConstants)
    LOAD_DEVICE(c, CmdDispatch)
    LOAD_DEVICE(c, CmdPipelineBarrier)
    LOAD_DEVICE(c, CreateFence)
    LOAD_DEVICE(c, DestroyFence)
    LOAD_DEVICE(c, ResetFences)
    LOAD_DEVICE(c, WaitForFences)
    LOAD_DEVICE(c, QueueSubmit)
    LOAD_DEVICE(c, DeviceWaitIdle)
    return CVK_STATUS_OK;
}

/// A memory type that is host-visible and host-coherent (so mapped writes need no flush), or UINT32_MAX.
static uint32_t host_memory_type(Instance *instance, VkPhysicalDevice device) {
    VkPhysicalDeviceMemoryProperties memory;
    instance->GetPhysicalDeviceMemoryProperties(device, &memory);
    const VkMemoryPropertyFlags wanted = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    for (uint32_t i = 0; i < memory.memoryTypeCount; i++) {
        if ((memory.memoryTypes[i].propertyFlags & wanted) == wanted) return i;
    }
    return UINT32_MAX;
}

static CVKStatus context_init(CVKContext *c, uint32_t index, CVKError *error) {
    CVKStatus status = instance_create(&c->instance, error);
    if (status != CVK_STATUS_OK) return status;
    VkPhysicalDevice *list;
    uint32_t n;
    status = physical_devices(&c->instance, &list, &n, error);
    if (status != CVK_STATUS_OK) return status;
    if (n == 0) {
        set_error(error, CVK_STATUS_NO_DEVICE, 0,
                  "the Vulkan loader found no device; install mesa-vulkan-drivers or your GPU's Vulkan driver");
        return CVK_STATUS_NO_DEVICE;
    }
    if (index >= n) {
        free(list);
        set_error(error, CVK_STATUS_NO_DEVICE, 0, "Vulkan device %u does not exist (%u device%s)", index, n,
                  n == 1 ? "" : "s");
        return CVK_STATUS_NO_DEVICE;
    }
    c->physical = list[index];
    free(list);
    describe_device(&c->instance, c->physical, &c->info);

    uint32_t family = compute_queue_family(&c->instance, c->physical);
    if (family == UINT32_MAX) {
        set_error(error, CVK_STATUS_NO_DEVICE, 0, "Vulkan device %u (%s) has no compute queue", index, c->info.name);
        return CVK_STATUS_NO_DEVICE;
    }
    c->hostMemoryType = host_memory_type(&c->instance, c->physical);
    if (c->hostMemoryType == UINT32_MAX) {
        set_error(error, CVK_STATUS_OUT_OF_MEMORY, 0, "Vulkan device %u (%s) has no host-visible coherent memory",
                  index, c->info.name);
        return CVK_STATUS_OUT_OF_MEMORY;
    }
    float priority = 1.0f;
    VkDeviceQueueCreateInfo queueInfo = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = family,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    // 64-bit floats where the device has them: the shaders that reproduce the CPU's f64 sums use them.
    VkPhysicalDeviceFeatures enabled = {.shaderFloat64 = c->info.shaderFloat64 ? VK_TRUE : VK_FALSE};
    VkDeviceCreateInfo deviceInfo = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &queueInfo,
        .pEnabledFeatures = &enabled,
    };
    VkResult result = c->instance.CreateDevice(c->physical, &deviceInfo, NULL, &c->device);
    if (result != VK_SUCCESS) {
        c->device = VK_NULL_HANDLE;
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "vkCreateDevice failed on %s (VkResult %d)", c->info.name,
                  (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    status = load_device_functions(c, error);
    if (status != CVK_STATUS_OK) return status;
    c->GetDeviceQueue(c->device, family, 0, &c->queue);

    VkCommandPoolCreateInfo poolInfo = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = family,
    };
    result = c->CreateCommandPool(c->device, &poolInfo, NULL, &c->commandPool);
    if (result != VK_SUCCESS) {
        c->commandPool = VK_NULL_HANDLE;
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "vkCreateCommandPool failed (VkResult %d)", (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    VkCommandBufferAllocateInfo bufferInfo = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = c->commandPool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    result = c->AllocateCommandBuffers(c->device, &bufferInfo, &c->commandBuffer);
    if (result != VK_SUCCESS) {
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "vkAllocateCommandBuffers failed (VkResult %d)", (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    VkFenceCreateInfo fenceInfo = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    result = c->CreateFence(c->device, &fenceInfo, NULL, &c->fence);
    if (result != VK_SUCCESS) {
        c->fence = VK_NULL_HANDLE;
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "vkCreateFence failed (VkResult %d)", (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    return CVK_STATUS_OK;
}

CVKContext *cvk_context_create(uint32_t index, CVKDeviceInfo *info, CVKError *error) {
    clear_error(error);
    CVKContext *c = calloc(1, sizeof *c);
    if (!c) {
        set_error(error, CVK_STATUS_OUT_OF_MEMORY, 0, "out of memory creating a Vulkan context");
        return NULL;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        set_error(error, CVK_STATUS_OUT_OF_MEMORY, 0, "could not create a mutex for the Vulkan context");
        return NULL;
    }
    if (context_init(c, index, error) != CVK_STATUS_OK) {
        cvk_context_destroy(c);
        return NULL;
    }
    if (info) *info = c->info;
    return c;
}

void cvk_context_destroy(CVKContext *c) {
    if (!c) return;
    if (c->device) {
        if (c->DeviceWaitIdle) c->DeviceWaitIdle(c->device);
        if (c->fence && c->DestroyFence) c->DestroyFence(c->device, c->fence, NULL);
        // Destroying the pool frees its command buffer.
        if (c->commandPool && c->DestroyCommandPool) c->DestroyCommandPool(c->device, c->commandPool, NULL);
        if (c->DestroyDevice) c->DestroyDevice(c->device, NULL);
    }
    instance_destroy(&c->instance);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

// MARK: Buffers

struct CVKBuffer {
    CVKContext *context;
    VkBuffer buffer;
    VkDeviceMemory memory;
    uint64_t size;
    void *contents;
};

void cvk_buffer_destroy(CVKBuffer *b) {
    if (!b) return;
    CVKContext *c = b->context;
    // Freeing the memory unmaps it.
    if (b->buffer) c->DestroyBuffer(c->device, b->buffer, NULL);
    if (b->memory) c->FreeMemory(c->device, b->memory, NULL);
    free(b);
}

CVKBuffer *cvk_buffer_create(CVKContext *c, uint64_t bytes, CVKError *error) {
    clear_error(error);
    if (!c) {
        set_error(error, CVK_STATUS_INVALID_ARGUMENT, 0, "no Vulkan context");
        return NULL;
    }
    if (bytes == 0 || bytes > c->info.maxStorageBufferRange) {
        set_error(error, CVK_STATUS_INVALID_ARGUMENT, 0,
                  "a storage buffer of %llu bytes is outside 1...%u (the device's maxStorageBufferRange)",
                  (unsigned long long)bytes, c->info.maxStorageBufferRange);
        return NULL;
    }
    CVKBuffer *b = calloc(1, sizeof *b);
    if (!b) {
        set_error(error, CVK_STATUS_OUT_OF_MEMORY, 0, "out of memory creating a Vulkan buffer");
        return NULL;
    }
    b->context = c;
    b->size = bytes;
    VkBufferCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = bytes,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult result = c->CreateBuffer(c->device, &info, NULL, &b->buffer);
    if (result != VK_SUCCESS) {
        b->buffer = VK_NULL_HANDLE;
        cvk_buffer_destroy(b);
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "vkCreateBuffer of %llu bytes failed (VkResult %d)",
                  (unsigned long long)bytes, (int)result);
        return NULL;
    }
    VkMemoryRequirements requirements;
    c->GetBufferMemoryRequirements(c->device, b->buffer, &requirements);
    if (!(requirements.memoryTypeBits & (1u << c->hostMemoryType))) {
        cvk_buffer_destroy(b);
        set_error(error, CVK_STATUS_OUT_OF_MEMORY, 0, "no host-visible memory type can back a storage buffer on %s",
                  c->info.name);
        return NULL;
    }
    VkMemoryAllocateInfo allocation = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = requirements.size,
        .memoryTypeIndex = c->hostMemoryType,
    };
    result = c->AllocateMemory(c->device, &allocation, NULL, &b->memory);
    if (result != VK_SUCCESS) {
        b->memory = VK_NULL_HANDLE;
        cvk_buffer_destroy(b);
        set_error(error, result == VK_ERROR_OUT_OF_DEVICE_MEMORY || result == VK_ERROR_OUT_OF_HOST_MEMORY
                             ? CVK_STATUS_OUT_OF_MEMORY : CVK_STATUS_VULKAN_ERROR,
                  result, "vkAllocateMemory of %llu bytes failed (VkResult %d)",
                  (unsigned long long)requirements.size, (int)result);
        return NULL;
    }
    result = c->BindBufferMemory(c->device, b->buffer, b->memory, 0);
    if (result == VK_SUCCESS) result = c->MapMemory(c->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->contents);
    if (result != VK_SUCCESS) {
        cvk_buffer_destroy(b);
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "binding or mapping a Vulkan buffer failed (VkResult %d)",
                  (int)result);
        return NULL;
    }
    return b;
}

void *cvk_buffer_contents(CVKBuffer *b) { return b ? b->contents : NULL; }
uint64_t cvk_buffer_size(const CVKBuffer *b) { return b ? b->size : 0; }

// MARK: Pipelines

enum { CVK_MAX_BINDINGS = 16 };

struct CVKPipeline {
    CVKContext *context;
    uint32_t bindingCount;
    uint32_t pushConstantBytes;
    VkDescriptorSetLayout setLayout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
    VkDescriptorPool descriptorPool;
    VkDescriptorSet descriptorSet;
};

void cvk_pipeline_destroy(CVKPipeline *p) {
    if (!p) return;
    CVKContext *c = p->context;
    if (p->pipeline) c->DestroyPipeline(c->device, p->pipeline, NULL);
    if (p->layout) c->DestroyPipelineLayout(c->device, p->layout, NULL);
    if (p->descriptorPool) c->DestroyDescriptorPool(c->device, p->descriptorPool, NULL);
    if (p->setLayout) c->DestroyDescriptorSetLayout(c->device, p->setLayout, NULL);
    free(p);
}

static CVKStatus pipeline_init(CVKPipeline *p, const uint32_t *spirv, size_t words, CVKError *error) {
    CVKContext *c = p->context;
    VkDescriptorSetLayoutBinding bindings[CVK_MAX_BINDINGS];
    for (uint32_t i = 0; i < p->bindingCount; i++) {
        bindings[i] = (VkDescriptorSetLayoutBinding){
            .binding = i,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        };
    }
    VkDescriptorSetLayoutCreateInfo setInfo = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = p->bindingCount,
        .pBindings = bindings,
    };
    VkResult result = c->CreateDescriptorSetLayout(c->device, &setInfo, NULL, &p->setLayout);
    if (result != VK_SUCCESS) {
        p->setLayout = VK_NULL_HANDLE;
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "vkCreateDescriptorSetLayout failed (VkResult %d)", (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    VkPushConstantRange range = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = p->pushConstantBytes};
    VkPipelineLayoutCreateInfo layoutInfo = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &p->setLayout,
        .pushConstantRangeCount = p->pushConstantBytes > 0 ? 1 : 0,
        .pPushConstantRanges = &range,
    };
    result = c->CreatePipelineLayout(c->device, &layoutInfo, NULL, &p->layout);
    if (result != VK_SUCCESS) {
        p->layout = VK_NULL_HANDLE;
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "vkCreatePipelineLayout failed (VkResult %d)", (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    VkShaderModuleCreateInfo moduleInfo = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = words * 4,
        .pCode = spirv,
    };
    VkShaderModule module;
    result = c->CreateShaderModule(c->device, &moduleInfo, NULL, &module);
    if (result != VK_SUCCESS) {
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "vkCreateShaderModule failed (VkResult %d)", (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    VkComputePipelineCreateInfo pipelineInfo = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
            .stage = VK_SHADER_STAGE_COMPUTE_BIT,
            .module = module,
            .pName = "main",
        },
        .layout = p->layout,
    };
    result = c->CreateComputePipelines(c->device, VK_NULL_HANDLE, 1, &pipelineInfo, NULL, &p->pipeline);
    c->DestroyShaderModule(c->device, module, NULL);
    if (result != VK_SUCCESS) {
        p->pipeline = VK_NULL_HANDLE;
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "vkCreateComputePipelines failed (VkResult %d)", (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    VkDescriptorPoolSize poolSize = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = p->bindingCount};
    VkDescriptorPoolCreateInfo poolInfo = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = 1,
        .poolSizeCount = 1,
        .pPoolSizes = &poolSize,
    };
    result = c->CreateDescriptorPool(c->device, &poolInfo, NULL, &p->descriptorPool);
    if (result != VK_SUCCESS) {
        p->descriptorPool = VK_NULL_HANDLE;
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "vkCreateDescriptorPool failed (VkResult %d)", (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    VkDescriptorSetAllocateInfo allocation = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = p->descriptorPool,
        .descriptorSetCount = 1,
        .pSetLayouts = &p->setLayout,
    };
    result = c->AllocateDescriptorSets(c->device, &allocation, &p->descriptorSet);
    if (result != VK_SUCCESS) {
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "vkAllocateDescriptorSets failed (VkResult %d)", (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    return CVK_STATUS_OK;
}

CVKPipeline *cvk_pipeline_create(CVKContext *c, const uint32_t *spirv, size_t words, uint32_t bindingCount,
                                 uint32_t pushConstantBytes, CVKError *error) {
    clear_error(error);
    if (!c || !spirv) {
        set_error(error, CVK_STATUS_INVALID_ARGUMENT, 0, "no Vulkan context or no SPIR-V");
        return NULL;
    }
    // SPIR-V starts with the magic word 0x07230203 and a five-word header.
    if (words < 5 || words > (SIZE_MAX / 4) || spirv[0] != 0x07230203u) {
        set_error(error, CVK_STATUS_INVALID_ARGUMENT, 0, "the shader is not SPIR-V (%zu words, no magic number)", words);
        return NULL;
    }
    if (bindingCount == 0 || bindingCount > CVK_MAX_BINDINGS) {
        set_error(error, CVK_STATUS_INVALID_ARGUMENT, 0, "a pipeline takes 1...%d storage buffers, not %u",
                  CVK_MAX_BINDINGS, bindingCount);
        return NULL;
    }
    if (pushConstantBytes % 4 != 0 || pushConstantBytes > c->info.maxPushConstantsSize) {
        set_error(error, CVK_STATUS_INVALID_ARGUMENT, 0,
                  "%u bytes of push constants: must be a multiple of 4 and at most %u (the device's limit)",
                  pushConstantBytes, c->info.maxPushConstantsSize);
        return NULL;
    }
    CVKPipeline *p = calloc(1, sizeof *p);
    if (!p) {
        set_error(error, CVK_STATUS_OUT_OF_MEMORY, 0, "out of memory creating a Vulkan pipeline");
        return NULL;
    }
    p->context = c;
    p->bindingCount = bindingCount;
    p->pushConstantBytes = pushConstantBytes;
    if (pipeline_init(p, spirv, words, error) != CVK_STATUS_OK) {
        cvk_pipeline_destroy(p);
        return NULL;
    }
    return p;
}

// MARK: Dispatch

static CVKStatus record_and_submit(CVKContext *c, CVKPipeline *p, const void *pushConstants, const uint32_t groups[3],
                                   CVKError *error) {
    VkResult result = c->ResetCommandBuffer(c->commandBuffer, 0);
    VkCommandBufferBeginInfo begin = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    if (result == VK_SUCCESS) result = c->BeginCommandBuffer(c->commandBuffer, &begin);
    if (result != VK_SUCCESS) {
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "recording a command buffer failed (VkResult %d)", (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    c->CmdBindPipeline(c->commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
    c->CmdBindDescriptorSets(c->commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &p->descriptorSet, 0,
                             NULL);
    if (p->pushConstantBytes > 0) {
        c->CmdPushConstants(c->commandBuffer, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, p->pushConstantBytes,
                            pushConstants);
    }
    c->CmdDispatch(c->commandBuffer, groups[0], groups[1], groups[2]);
    // Make the shader's writes visible to the host's reads of the mapped memory after the wait.
    VkMemoryBarrier barrier = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
    };
    c->CmdPipelineBarrier(c->commandBuffer, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                          &barrier, 0, NULL, 0, NULL);
    result = c->EndCommandBuffer(c->commandBuffer);
    if (result != VK_SUCCESS) {
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "vkEndCommandBuffer failed (VkResult %d)", (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    VkSubmitInfo submit = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &c->commandBuffer,
    };
    result = c->ResetFences(c->device, 1, &c->fence);
    if (result == VK_SUCCESS) result = c->QueueSubmit(c->queue, 1, &submit, c->fence);
    if (result != VK_SUCCESS) {
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "vkQueueSubmit failed (VkResult %d)", (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    result = c->WaitForFences(c->device, 1, &c->fence, VK_TRUE, UINT64_MAX);
    if (result != VK_SUCCESS) {
        set_error(error, CVK_STATUS_VULKAN_ERROR, result, "waiting for the Vulkan queue failed (VkResult %d)",
                  (int)result);
        return CVK_STATUS_VULKAN_ERROR;
    }
    return CVK_STATUS_OK;
}

CVKStatus cvk_pipeline_run(CVKContext *c, CVKPipeline *p, CVKBuffer *const *buffers, uint32_t bufferCount,
                           const void *pushConstants, uint32_t pushConstantBytes, const uint32_t groups[3],
                           CVKError *error) {
    clear_error(error);
    if (!c || !p || p->context != c || !buffers || !groups) {
        set_error(error, CVK_STATUS_INVALID_ARGUMENT, 0, "no context, pipeline, buffers or group counts");
        return CVK_STATUS_INVALID_ARGUMENT;
    }
    if (bufferCount != p->bindingCount) {
        set_error(error, CVK_STATUS_INVALID_ARGUMENT, 0, "the pipeline binds %u buffers, %u given", p->bindingCount,
                  bufferCount);
        return CVK_STATUS_INVALID_ARGUMENT;
    }
    if (pushConstantBytes != p->pushConstantBytes || (pushConstantBytes > 0 && !pushConstants)) {
        set_error(error, CVK_STATUS_INVALID_ARGUMENT, 0, "the pipeline takes %u bytes of push constants, %u given",
                  p->pushConstantBytes, pushConstantBytes);
        return CVK_STATUS_INVALID_ARGUMENT;
    }
    for (int i = 0; i < 3; i++) {
        if (groups[i] == 0 || groups[i] > c->info.maxComputeWorkGroupCount[i]) {
            set_error(error, CVK_STATUS_INVALID_ARGUMENT, 0, "workgroup count %u in dimension %d is outside 1...%u",
                      groups[i], i, c->info.maxComputeWorkGroupCount[i]);
            return CVK_STATUS_INVALID_ARGUMENT;
        }
    }
    VkDescriptorBufferInfo infos[CVK_MAX_BINDINGS];
    VkWriteDescriptorSet writes[CVK_MAX_BINDINGS];
    for (uint32_t i = 0; i < bufferCount; i++) {
        if (!buffers[i] || buffers[i]->context != c) {
            set_error(error, CVK_STATUS_INVALID_ARGUMENT, 0, "buffer %u is missing or belongs to another context", i);
            return CVK_STATUS_INVALID_ARGUMENT;
        }
        infos[i] = (VkDescriptorBufferInfo){.buffer = buffers[i]->buffer, .offset = 0, .range = VK_WHOLE_SIZE};
        writes[i] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = p->descriptorSet,
            .dstBinding = i,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .pBufferInfo = &infos[i],
        };
    }
    pthread_mutex_lock(&c->lock);
    // The set is only updated between runs: the previous run's fence was waited on.
    c->UpdateDescriptorSets(c->device, bufferCount, writes, 0, NULL);
    CVKStatus status = record_and_submit(c, p, pushConstants, groups, error);
    pthread_mutex_unlock(&c->lock);
    return status;
}

#endif
