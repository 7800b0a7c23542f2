#!/usr/bin/env bash
# Regenerates the PTX that the CUDA backend ships (run here, on a machine with nvcc; no GPU needed), and checks that
# it assembles for Hopper. Run it after every edit of longnet_kernels.cu: a test compares the source's SHA-256 with
# the one recorded here (longnet_kernels.ptx.sha256), so a stale PTX fails the build.
#
#   bench/gpu/build-ptx.sh            # from the repository root
#
# compute_75 is the oldest target nvcc 13 accepts; the driver JIT-compiles it for the GPU at hand (sm_90 on H200).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="$root/engine/src/main/resources/dev/longnet/engine/cuda"
nvcc="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
ptxas="$(dirname "$(readlink -f "$nvcc")")/ptxas"
[[ -x "$ptxas" ]] || ptxas="$(command -v ptxas || true)"

"$nvcc" --version | tail -n 2
"$nvcc" -ptx -arch=compute_75 -O3 -lineinfo -o "$dir/longnet_kernels.ptx" "$dir/longnet_kernels.cu"
# The line info names the source file by its absolute path; keep the shipped PTX free of this machine's paths.
sed -i "s#$dir/##g" "$dir/longnet_kernels.ptx"
(cd "$dir" && sha256sum longnet_kernels.cu | cut -d' ' -f1 > longnet_kernels.ptx.sha256)
if [[ -n "$ptxas" && -x "$ptxas" ]]; then
  for arch in sm_80 sm_90; do
    "$ptxas" -arch=$arch -O3 -v -o /dev/null "$dir/longnet_kernels.ptx" 2>&1 | grep -E "Compiling|registers" || true
  done
fi
grep -E "^\.(version|target)|\.entry" "$dir/longnet_kernels.ptx"
echo "wrote $dir/longnet_kernels.ptx ($(wc -c < "$dir/longnet_kernels.ptx") bytes)"
