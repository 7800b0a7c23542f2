#!/usr/bin/env bash
# The GPU checks of longnet-java's CUDA backend, one script that cannot hang (README.md beside this file).
# Run from the repository root on the NVIDIA machine (CUDA 13 driver, PyTorch; Java is not needed there), with the
# bundle that bench/gpu/prepare-gpu-bundle.sh built on a build machine copied into the checkout as .gpu:
#
#   bash bench/gpu/run-gpu-checks.sh            # results under $RESULTS if set, else ./gpu-results
#
# Steps, each under its own time limit, each run even if an earlier one failed:
#   1. environment: nvidia-smi, torch, the CUDA library and header folders found (env.txt)
#   2. JUnit: every test of dev.longnet.engine.cuda with LONGNET_REQUIRE_CUDA=1, so that a CUDA the JVM cannot
#      load FAILS rather than skips (junit.txt): bindings vs the real headers, parity vs the reference and the CPU
#   3. Java throughput: the engine with the CUDA kernel, N in $N_LIST, f16 (and f32 at one N), the CPU kernel at
#      the smallest N for comparison, and one single-view run (throughput.jsonl, throughput.log)
#   4. PyTorch: bench/gpu/sdpa_dilated.py on the same configuration (sdpa.jsonl, sdpa.log)
#   5. summary.txt: pass/fail counts and the tokens/s table side by side
# It writes these 7 files, no more.
#
# Knobs (environment): N_LIST (default 65536,262144,1048576), HEADS (8), DIM (64), PRESET (bench),
# JUNIT_TIMEOUT (180 s), JAVA_TIMEOUT (180 s), SDPA_TIMEOUT (120 s): at most 8 minutes in all, SKIP_JUNIT / SKIP_JAVA / SKIP_SDPA (=1).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
RESULTS="${RESULTS:-$root/gpu-results}"
mkdir -p "$RESULTS"
N_LIST="${N_LIST:-65536,262144,1048576}"
HEADS="${HEADS:-8}"
DIM="${DIM:-64}"
PRESET="${PRESET:-bench}"
JUNIT_TIMEOUT="${JUNIT_TIMEOUT:-180}"
JAVA_TIMEOUT="${JAVA_TIMEOUT:-180}"
SDPA_TIMEOUT="${SDPA_TIMEOUT:-120}"
export PYTHONUNBUFFERED=1
started=$(date +%s)
stamp() { echo "[$(( $(date +%s) - started ))s] $*"; }

java=.gpu/jdk/bin/java
if [[ ! -x "$java" ]]; then
  echo "no Java runtime at .gpu/jdk: run bench/gpu/prepare-gpu-bundle.sh on the build machine and carry .gpu" \
    | tee "$RESULTS/summary.txt"
  SKIP_JUNIT=1 SKIP_JAVA=1
fi
python=python3

# ---------------------------------------------------------------------------------------------- 1. environment
# The CUDA libraries: PyTorch's nvidia-* wheels (site-packages/nvidia/*/lib, or nvidia/cu13/lib) first, torch/lib,
# then the toolkit's. The driver (libcuda.so.1) comes from the system's library path.
read -r -d '' find_dirs <<'PY'
import glob, os, sys
kind = sys.argv[1]
patterns = {"lib": ["libcudart.so*", "libcublas.so*", "libcublasLt.so*", "libnvrtc.so*"],
            "include": ["cuda_runtime_api.h", "cublas_api.h", "nvrtc.h", "cuda.h", "library_types.h"]}[kind]
roots = []
try:
    import nvidia
    roots += list(nvidia.__path__)
except Exception:
    pass
try:
    import torch
    roots.append(os.path.join(os.path.dirname(torch.__file__), "lib" if kind == "lib" else "include"))
except Exception:
    pass
found = []
for r in roots:
    for p in patterns:
        for f in sorted(glob.glob(os.path.join(r, "**", p), recursive=True)):
            d = os.path.dirname(f)
            if d not in found:
                found.append(d)
print(":".join(found))
PY
libdirs=$($python -c "$find_dirs" lib 2>/dev/null || true)
incdirs=$($python -c "$find_dirs" include 2>/dev/null || true)
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  [[ -d "$d" ]] && libdirs="${libdirs:+$libdirs:}$d"
done
for d in /usr/local/cuda/include; do
  [[ -d "$d" ]] && incdirs="${incdirs:+$incdirs:}$d"
done
export LONGNET_CUDA_LIB_PATH="$libdirs"
export LONGNET_CUDA_INCLUDE_PATH="$incdirs"
original_ld_path="${LD_LIBRARY_PATH:-}"
export LD_LIBRARY_PATH="$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LONGNET_REQUIRE_CUDA=1
export NVIDIA_TF32_OVERRIDE=0            # the f32 parity tests need plain f32 products
{
  echo "date: $(date -u +%FT%TZ)  host: $(uname -srm)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || echo "nvidia-smi failed"
  $python -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))' 2>&1
  echo "LONGNET_CUDA_LIB_PATH=$LONGNET_CUDA_LIB_PATH"
  echo "LONGNET_CUDA_INCLUDE_PATH=$LONGNET_CUDA_INCLUDE_PATH"
  for d in ${libdirs//:/ }; do ls "$d" | grep -E '^lib(cudart|cublas|cublasLt|nvrtc|nvrtc-builtins)\.so' | sed "s#^#  $d/#"; done
  ldconfig -p 2>/dev/null | grep -E 'libcuda\.so' || echo "libcuda.so not in ld.so.cache"
  [[ -x "$java" ]] && "$java" -version 2>&1
} > "$RESULTS/env.txt" 2>&1
stamp "environment written to $RESULTS/env.txt"

flags=(--add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED
  --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -XX:+UseParallelGC)
cp=".gpu/lib/*:.gpu/runner"

# ---------------------------------------------------------------------------------------------- 2. JUnit
junit_rc=skipped
if [[ "${SKIP_JUNIT:-0}" != 1 ]]; then
  stamp "JUnit: dev.longnet.engine.cuda (timeout ${JUNIT_TIMEOUT}s)"
  timeout "$JUNIT_TIMEOUT" "$java" "${flags[@]}" -Xmx6g -cp "$cp" GpuTestRunner dev.longnet.engine.cuda \
    > "$RESULTS/junit.txt" 2>&1
  junit_rc=$?
  stamp "JUnit exit $junit_rc: $(grep '^RESULT' "$RESULTS/junit.txt" || echo 'no RESULT line')"
fi

# ---------------------------------------------------------------------------------------------- 3. Java throughput
java_rc=skipped
if [[ "${SKIP_JAVA:-0}" != 1 ]]; then
  stamp "Java throughput (timeout ${JAVA_TIMEOUT}s)"
  first_n=${N_LIST%%,*}
  mid_n=$(echo "$N_LIST" | tr ',' '\n' | sed -n 2p); mid_n=${mid_n:-$first_n}
  deadline=$(( $(date +%s) + JAVA_TIMEOUT ))
  java_rc=0
  run() {                                # each run gets what is left of the step's time; a failure does not stop the rest
    local left=$(( deadline - $(date +%s) ))
    if (( left < 10 )); then echo "[throughput] out of time, skipped: $*"; java_rc=124; return; fi
    timeout "$left" "$java" "${flags[@]}" -Xmx8g -cp "$cp" dev.longnet.engine.cuda.CudaThroughput \
      --heads "$HEADS" --dim "$DIM" --preset "$PRESET" --out "$RESULTS/throughput.jsonl" "$@"
    local rc=$?
    (( rc == 0 )) || { echo "[throughput] exit $rc: $*"; java_rc=$rc; }
  }
  {
    run --n "$N_LIST" --dtype f16 --single-view 16384
    run --n "$mid_n" --dtype f32
    run --n "$first_n" --dtype f16 --causal
    run --n "$first_n" --dtype f16 --cpu
  } > "$RESULTS/throughput.log" 2>&1
  stamp "Java throughput exit $java_rc"
fi

# ---------------------------------------------------------------------------------------------- 4. PyTorch SDPA
sdpa_rc=skipped
if [[ "${SKIP_SDPA:-0}" != 1 ]]; then
  stamp "PyTorch SDPA dilated attention (timeout ${SDPA_TIMEOUT}s)"
  LD_LIBRARY_PATH="$original_ld_path" timeout "$SDPA_TIMEOUT" $python bench/gpu/sdpa_dilated.py --n "$N_LIST" --heads "$HEADS" --dim "$DIM" \
    --preset "$PRESET" --dtype f16 --json "$RESULTS/sdpa.jsonl" > "$RESULTS/sdpa.log" 2>&1
  sdpa_rc=$?
  stamp "SDPA exit $sdpa_rc"
fi

# ---------------------------------------------------------------------------------------------- 5. summary
{
  echo "longnet-java GPU checks, $(date -u +%FT%TZ), ${SECONDS}s"
  head -n 3 "$RESULTS/env.txt" 2>/dev/null
  echo
  grep -m1 -F '[cuda] CUDA' "$RESULTS/junit.txt" 2>/dev/null | cut -c1-400
  echo "junit: exit $junit_rc  $(grep '^RESULT' "$RESULTS/junit.txt" 2>/dev/null)"
  grep -E '^FAIL' "$RESULTS/junit.txt" 2>/dev/null | cut -c1-240 | head -n 12
  echo "java throughput: exit $java_rc    sdpa: exit $sdpa_rc"
  echo
  $python - "$RESULTS/throughput.jsonl" "$RESULTS/sdpa.jsonl" <<'PY' 2>&1
import json, sys
def rows(path):
    try:
        return [json.loads(l) for l in open(path) if l.strip()]
    except FileNotFoundError:
        return []
java, sdpa = rows(sys.argv[1]), rows(sys.argv[2])
print(f"{'run':<12} {'kernel':<34} {'dtype':<5} {'causal':<6} {'N':>9} {'seconds':>9} {'tokens/s':>12} {'TFLOPS':>8} {'max err':>9}")
for r in java:
    if r.get("run") == "single-view":
        print(f"{'single-view':<12} {'m=' + str(r['m']):<34} {r['dtype']:<5} {str(r['causal']):<6} {'':>9} "
              f"{r['seconds']:>9.4f} {'':>12} {r['tflops']:>8.3f}")
        continue
    err = r.get("sampled_max_abs_error")
    print(f"{r['run']:<12} {r['kernel'][:34]:<34} {r['dtype']:<5} {str(r['causal']):<6} {r['n']:>9} "
          f"{r['seconds']:>9.3f} {r['tokens_per_s']:>12.0f} {r['tflops']:>8.3f} {err if err is not None else '':>9}")
for r in sdpa:
    if "error" in r:
        print(f"{'sdpa':<12} {r.get('impl', ''):<34} N={r['n']}: {r['error'][:60]}")
        continue
    print(f"{'sdpa':<12} {'torch ' + r['impl']:<34} {r['dtype']:<5} {str(r['causal']):<6} {r['n']:>9} "
          f"{r['seconds_best']:>9.3f} {r['tokens_per_s']:>12.0f} {r['tflops']:>8.3f}")
PY
} > "$RESULTS/summary.txt"
cat "$RESULTS/summary.txt"
[[ "$junit_rc" == 0 ]]
