// hgc_prebuild: compiles the imperative kernels listed in a kernels file ahead of time, at
// build time, through the same code invoke() JITs with (compiler_detail::prepare_imperative:
// the same key, the same MLIR text, the same CPU pipeline), into one object file plus a C++
// file with the table that maps each kernel's imperative cache key to its code (prebuilt.h).
//
//   hgc_prebuild compiler/prebuilt/kernels.txt OUT.o OUT_table.cc [compiler/prebuilt/graphs.txt]
//
// The graphs file holds whole kernel modules of library graphs (standard losses, optimizer
// update rules) as the frontend generates them (tools/prebuilt_graphs.cc writes it): each is
// compiled here to an object embedded in the table, which compile_kernels() links when a
// module's text is the same (prebuilt.h, PrebuiltModule).
//
// Kernels file: one signature per line, `#` starts a comment:
//   OP [attr=value ...] : DTYPE[d0,d1,...] [DTYPE[...] ...]
// e.g.  `Cast dtype=float32 : uint8[64,784]`. The shapes are example inputs; a
// shape-polymorphic kernel serves every shape of the same rank with 1s in the same places
// (`?` stands for 2). Listing a view or library-call op, a duplicate, or a bad line is an error.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "hgc/base/error.h"
#include "hgc/compiler/jit.h"
#include "hgc/ir/op.h"
#include "imperative_kernel.h"

using namespace hgc;

namespace {

struct Line {
  int number = 0;
  std::string op;
  std::map<std::string, std::string> attrs;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<DType> dtypes;
};

[[noreturn]] void bad(const std::string& file, int line, const std::string& msg) {
  fail("prebuild", file, ":", line, ": ", msg);
}

// "float32[64,?,1]" -> dtype and dims.
void parse_input(const std::string& file, int line, const std::string& tok, Line& out) {
  size_t lb = tok.find('['), rb = tok.rfind(']');
  if (lb == std::string::npos || rb != tok.size() - 1) bad(file, line, "expected DTYPE[d0,d1,...], got '" + tok + "'");
  std::optional<DType> t = dtype_from_name(tok.substr(0, lb));
  if (!t) bad(file, line, "unknown dtype '" + tok.substr(0, lb) + "'");
  out.dtypes.push_back(*t);
  std::vector<int64_t> dims;
  std::string body = tok.substr(lb + 1, rb - lb - 1);
  std::stringstream ss(body);
  for (std::string d; std::getline(ss, d, ',');) {
    if (d == "?") dims.push_back(2);
    else {
      try {
        size_t used = 0;
        long long v = std::stoll(d, &used);
        if (used != d.size() || v < 0) throw std::invalid_argument(d);
        dims.push_back(v);
      } catch (const std::exception&) {
        bad(file, line, "bad dim '" + d + "' in '" + tok + "'");
      }
    }
  }
  out.shapes.push_back(dims);
}

std::vector<Line> read_list(const std::string& file) {
  std::ifstream in(file);
  if (!in) fail("prebuild", "cannot read ", file);
  std::vector<Line> lines;
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) {
    if (size_t h = text.find('#'); h != std::string::npos) text.resize(h);
    std::stringstream ss(text);
    std::vector<std::string> toks;
    for (std::string t; ss >> t;) toks.push_back(t);
    if (toks.empty()) continue;
    Line l;
    l.number = number;
    l.op = toks[0];
    size_t k = 1;
    for (; k < toks.size() && toks[k] != ":"; ++k) {
      size_t eq = toks[k].find('=');
      if (eq == std::string::npos || eq == 0) bad(file, number, "expected attr=value, got '" + toks[k] + "'");
      l.attrs[toks[k].substr(0, eq)] = toks[k].substr(eq + 1);
    }
    if (k == toks.size()) bad(file, number, "missing ' : ' before the inputs");
    for (++k; k < toks.size(); ++k) parse_input(file, number, toks[k], l);
    lines.push_back(std::move(l));
  }
  return lines;
}

struct Module {
  std::string name, text;
};

// Records `module NAME bytes=N`, a newline, exactly N bytes of text, a newline; `#` lines
// between records are comments.
std::vector<Module> read_modules(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("prebuild", "cannot read ", file);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<Module> out;
  size_t at = 0;
  while (at < all.size()) {
    size_t eol = all.find('\n', at);
    if (eol == std::string::npos) eol = all.size();
    std::string line = all.substr(at, eol - at);
    at = eol + 1;
    if (line.empty() || line[0] == '#') continue;
    std::stringstream ss(line);
    std::string word, name, bytes;
    ss >> word >> name >> bytes;
    if (word != "module" || name.empty() || bytes.rfind("bytes=", 0) != 0)
      fail("prebuild", file, ": expected 'module NAME bytes=N', got '", line, "'");
    size_t n = std::stoull(bytes.substr(6));
    if (at + n > all.size()) fail("prebuild", file, ": module ", name, " is cut short");
    out.push_back({name, all.substr(at, n)});
    at += n;
    if (at < all.size() && all[at] == '\n') ++at;
  }
  return out;
}

std::string byte_array(const std::string& name, const std::string& bytes) {
  std::string s = "static const char " + name + "[] = {";
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i % 24 == 0) s += "\n   ";
    s += " " + std::to_string(static_cast<int>(static_cast<signed char>(bytes[i]))) + ",";
  }
  return s + "0};\n";
}

std::string cxx_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') out += "\\n";
    else out += c;
  }
  return out + "\"";
}

void write_file(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) fail("prebuild", "cannot write ", tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("prebuild", "cannot rename ", tmp, " to ", path);
}

int run(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::cerr << "usage: hgc_prebuild KERNELS.txt OUT.o OUT_table.cc [GRAPHS.txt]\n";
    return 2;
  }
  auto t0 = std::chrono::steady_clock::now();
  std::string list = argv[1];
  CompileOptions opts;  // what invoke() uses by default: -O3, the host CPU
  std::string module, table;
  std::vector<std::string> keys;
  for (const Line& l : read_list(list)) {
    const OpDef& def = OpRegistry::global().get(l.op);
    AttrMap attrs;
    for (const auto& [k, v] : l.attrs) {
      const AttrSpec* s = def.attr_spec(k);
      if (!s) bad(list, l.number, l.op + " has no attribute '" + k + "'");
      attrs[k] = parse_attr(*s, v);
    }
    auto call = compiler_detail::prepare_imperative(l.op, attrs, l.shapes, l.dtypes, opts);
    if (call->lowering->kind != lower::Kind::Kernel)
      bad(list, l.number, l.op + " is a view or a library call: it compiles nothing");
    for (const std::string& k : keys)
      if (k == call->key) bad(list, l.number, "duplicate of an earlier line (key " + k + ")");
    std::string name = "hgc_prebuilt_" + std::to_string(keys.size());
    module += call->kernel_text(name);
    table += "    {" + cxx_string(call->key) + ", &" + packed_symbol_name(name) + "},\n";
    keys.push_back(call->key);
  }
  if (keys.empty()) fail("prebuild", list, " lists no kernels");
  JitOptions jo = JitOptions().opt(opts.opt_level).cpu(opts.target_cpu);
  write_file(argv[2], compile_to_object(module, jo));
  std::vector<Module> modules;
  if (argc == 5) modules = read_modules(argv[4]);
  std::string arrays, module_table;
  for (size_t i = 0; i < modules.size(); ++i) {
    std::string obj = compile_to_object(modules[i].text, jo);
    std::string t = "hgc_module_text_" + std::to_string(i), o = "hgc_module_object_" + std::to_string(i);
    arrays += "// " + modules[i].name + "\n" + byte_array(t, modules[i].text) + byte_array(o, obj);
    module_table += "    {" + t + ", " + std::to_string(modules[i].text.size()) + ", " + o + ", " +
                    std::to_string(obj.size()) + "},\n";
  }

  std::string cc =
      "// Generated by hgc_prebuild from " + std::string(argv[1]).substr(std::string(argv[1]).rfind('/') + 1) +
      ": do not edit.\n#include \"prebuilt.h\"\n\nextern \"C\" {\n";
  for (size_t i = 0; i < keys.size(); ++i)
    cc += "void " + packed_symbol_name("hgc_prebuilt_" + std::to_string(i)) + "(void**);\n";
  cc += "}\n\nnamespace hgc::compiler_detail {\n\n" + arrays + "\nconst PrebuiltTable& prebuilt_table() {\n"
        "  static const PrebuiltKernel kernels[] = {\n" + table + "  };\n";
  if (!modules.empty()) cc += "  static const PrebuiltModule modules[] = {\n" + module_table + "  };\n";
  cc += "  static const PrebuiltTable t{" + cxx_string(host_target_id(jo)) + ", kernels, " + std::to_string(keys.size()) +
        (modules.empty() ? std::string(", nullptr, 0") : ", modules, " + std::to_string(modules.size())) +
        "};\n  return t;\n}\n\n}  // namespace hgc::compiler_detail\n";
  write_file(argv[3], cc);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[hgc_prebuild] %zu imperative kernels and %zu graph modules compiled in %.1f s\n", keys.size(),
              modules.size(), s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
