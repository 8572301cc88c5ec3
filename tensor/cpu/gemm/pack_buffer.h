// Thread-local scratch for packed GEMM panels.
#pragma once

#include <cstdint>

namespace peftcpp::cpu::gemm_detail {

/// This thread's packing buffer `slot` (0: A block, 1: B panel) with room for at least `count`
/// floats, 64-byte aligned. It only grows and is reused by later calls on the same thread, so a
/// steady-state GEMM does not allocate. Throws std::bad_alloc when memory runs out.
float* thread_pack_buffer(int slot, int64_t count);

}  // namespace peftcpp::cpu::gemm_detail
