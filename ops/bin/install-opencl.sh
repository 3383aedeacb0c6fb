#!/usr/bin/env bash
# Installs an OpenCL runtime (PoCL: OpenCL on the CPU) so the credit kernels really run on OpenCL
# in tests and CI. Idempotent. On a developer's machine it never fails the build: without root or apt it
# only says what to install, and the OpenCL tests then skip with the same advice. In CI (CI set) it fails
# instead, so that a mirror or lock problem cannot turn the OpenCL tests into skips in a green build.
set -u

PACKAGES="pocl-opencl-icd ocl-icd-libopencl1 clinfo"

# shellcheck source=ops/bin/apt-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt-common.sh"

has_opencl_device() {
  command -v clinfo >/dev/null 2>&1 && clinfo -l 2>/dev/null | grep -q 'Device'
}

# A GPU container gets the driver's OpenCL library (libnvidia-opencl.so.1) mounted but no ICD file naming it.
# Debian's and Ubuntu's ICD loader (ocl-icd) then list no NVIDIA platform, and the kernels run on PoCL's CPU
# device next to an idle GPU: seen on an H200 node (driver 580), where only CUDA's own libOpenCL found the GPU.
# Registering the library is all the loader needs.
register_nvidia_opencl() {
  [ -e /etc/OpenCL/vendors/nvidia.icd ] && return 0
  ldconfig -p 2>/dev/null | grep -q 'libnvidia-opencl\.so\.1' || return 0
  if [ "$(id -u)" = "0" ]; then
    mkdir -p /etc/OpenCL/vendors && echo libnvidia-opencl.so.1 > /etc/OpenCL/vendors/nvidia.icd \
      && echo "install-opencl: registered NVIDIA's OpenCL driver in /etc/OpenCL/vendors/nvidia.icd"
  else
    echo "install-opencl: NVIDIA's OpenCL driver is installed but not registered; as root:"
    echo "  echo libnvidia-opencl.so.1 > /etc/OpenCL/vendors/nvidia.icd"
  fi
}

register_nvidia_opencl

if has_opencl_device; then
  echo "install-opencl: an OpenCL device is present:"
  clinfo -l
  exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "install-opencl: no OpenCL device found; installing ${PACKAGES}"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  if apt_install ${PACKAGES}; then
    if has_opencl_device; then
      clinfo -l
      exit 0
    fi
  fi
  echo "install-opencl: WARNING: installation did not produce an OpenCL device; OpenCL tests will skip."
  give_up install-opencl
fi

echo "install-opencl: no OpenCL device and no root apt-get here. Install an OpenCL runtime, e.g. on Debian/Ubuntu:"
echo "  sudo apt-get install -y ${PACKAGES}"
echo "OpenCL tests will skip until then."
give_up install-opencl
