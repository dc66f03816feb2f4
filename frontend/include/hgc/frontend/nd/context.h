// Where an NDArray lives, as MXNet's mx.Context: cpu(0), gpu(1), ...
//
//   Context c = cpu();            // Context{DeviceType::cpu, 0}
//   std::cout << c;                // "cpu(0)"
//   x.context() == cpu(0);         // every NDArray has one
//   if (num_gpus() > 0) y = x.copyto(gpu(0));   // data in device memory (ndarray.h)
#pragma once
#include <ostream>
#include <string>

namespace hgc {

// MXNet's dev_type codes, so contexts read the same in both.
enum class DeviceType { cpu = 1, gpu = 2 };

struct Context {
  DeviceType device_type = DeviceType::cpu;
  int device_id = 0;

  // "cpu(0)", "gpu(1)": MXNet's spelling, used by NDArray printing.
  std::string str() const {
    return (device_type == DeviceType::cpu ? "cpu(" : "gpu(") + std::to_string(device_id) + ")";
  }
  bool operator==(const Context&) const = default;
};

inline Context cpu(int device_id = 0) { return {DeviceType::cpu, device_id}; }
inline Context gpu(int device_id = 0) { return {DeviceType::gpu, device_id}; }

// CUDA devices the driver reports (MXNet's mx.context.num_gpus()); 0 without a driver.
int num_gpus();

inline std::ostream& operator<<(std::ostream& os, const Context& c) { return os << c.str(); }

}  // namespace hgc
