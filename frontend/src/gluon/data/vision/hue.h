// Frontend-internal: the HLS hue rotation shared by adjust_hue/RandomHue and
// RandomColorJitter (image_transforms_more.cc).
#pragma once
#include <cstdint>

namespace hgc::gluon::data::transforms::detail {

// Rotates the hue of n RGB pixels (0..255, interleaved) by alpha turns (MXNet's AdjustHueImpl).
void hue_shift_rgb(float* pixels, int64_t n, double alpha);

}  // namespace hgc::gluon::data::transforms::detail
