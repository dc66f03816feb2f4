// Pieces of `hgc compile --emit=lib` (compile.cc): the generated C header and the output
// names the library's glue source carries.
#pragma once
#include <string>
#include <vector>

#include "hgc/runtime/executable.h"

namespace hgc::cli {

// C definitions of hgc_output_names / hgc_output_name_count (runtime/aot_lib.cc).
std::string output_names_source(const std::vector<std::string>& names);

// The header declaring the C API of runtime/aot_lib.cc for this model. `link` is the
// command line a program links with (documented in the header, the line starting with
// "HGC_LINK:" is read by tests).
std::string c_header(const Executable& exe, const std::vector<std::string>& output_names, const std::string& name,
                     const std::string& link);

}  // namespace hgc::cli
