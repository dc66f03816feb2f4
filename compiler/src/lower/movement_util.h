// Lowering helpers shared by the movement, movement_index, broadcast, init and nn families
// (a helper file: it registers nothing): copies through an input map, strided copies, index
// conversion and the gather behind take/Embedding.
#pragma once
#include <string>
#include <vector>

#include "../lowering.h"

namespace hgc::lower {

// "d<i>", an affine map dim.
std::string d(int i);
std::vector<std::string> parallel(size_t n);
std::string copy_body(ScalarBuilder&, const std::vector<std::string>& a);
// out = in read through `in_map` over out's iteration space.
std::string gather_copy(KernelWriter& w, const std::string& in, const std::string& out, const std::string& in_map);
std::string join(const std::vector<int64_t>& v);
// out[i] = x[offset + i * stride] per dim.
std::string strided_copy(KernelWriter& w, const std::string& x, const std::string& out,
                         const std::vector<int64_t>& offsets, const std::vector<int64_t>& strides);
// Converts a scalar index element (any int or float type) to `index`.
std::string to_index(ScalarBuilder& b, const std::string& v, DType t);
std::string idx_const(ScalarBuilder& b, int64_t v);
std::string clamp_index(ScalarBuilder& b, const std::string& i, int64_t n);
std::string wrap_index(ScalarBuilder& b, const std::string& i, int64_t n);
// take: out = a[:axis] + indices.shape + a[axis+1:]; a is read with tensor.extract.
void lower_take(const NodeCtx& c, KernelWriter& w, const std::string& a, const std::string& idx, const std::string& out,
                int axis, bool wrap);
// The entries of a tuple attribute's text, `none` for None ("(1, None, -1)").
std::vector<int64_t> tuple_entries(const std::string& text, int64_t none);

}  // namespace hgc::lower
