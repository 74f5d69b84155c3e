#version 450
// dst[(destinationRow + r)·width + j] = f16(src[(sourceRow + r)·width + j])   (r < rows, j < width)
//
// Writes new K or V rows (f32, as the projections produce them) into an f16 KV cache on the
// device. Rows are contiguous on both sides, so the range is one run of rows·width elements;
// the host passes its start in source floats and in destination words. The cache is read as
// words holding two halves, the lower-addressed in the low half, so width is even and every
// written word is whole: no invocation touches a word another one writes, and cells outside
// the range are left as they were. packHalf2x16 rounds to nearest, ties to even. One
// invocation per pair of halves, 256 per workgroup; groups beyond the first dispatch dimension
// continue in the second.
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer Source { float src[]; };
layout(std430, set = 0, binding = 1) buffer Destination { uint dst[]; };

layout(push_constant) uniform Shape {
    uint sourceStart;       // floats: sourceRow · width
    uint destinationStart;  // words: destinationRow · width / 2
    uint pairs;             // rows · width / 2
} shape;

void main() {
    const uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    const uint p = group * 256 + gl_LocalInvocationID.x;
    if (p >= shape.pairs) return;
    const uint s = shape.sourceStart + 2 * p;
    dst[shape.destinationStart + p] = packHalf2x16(vec2(src[s], src[s + 1]));
}
