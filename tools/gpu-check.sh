#!/usr/bin/env bash
# Publishes samples/DeviceCheck self-contained for linux-x64 (the GPU machine has an NVIDIA driver but no .NET)
# and runs it: it compiles every kernel to PTX offline, prints each device's name and capability, then checks every
# GPU kernel against the CPU kernels on the chosen device (default cuda:0), trains models through the generated GPU
# path against the CPU path (the tutorial net, a deep odd-width net, a [Forward] model with every graph op and a nested
# model), checks every loss on the device against the host, checks that 10,000 training steps leave device memory
# exactly flat (--steps N to change), times the 784→1024→1024→10 step, and exits non-zero on any mismatch.
#
#   tools/gpu-check.sh publish [OUT]          # build only (default OUT: samples/DeviceCheck/bin/gpu-check), prints the size
#   tools/gpu-check.sh run [OUT] [ARGS...]    # run a published copy, e.g. on the GPU machine
#   tools/gpu-check.sh [ARGS...]              # both: publish, then run with ARGS (e.g. --device ilgpu-cpu)
#
# With the session `device` tool (a GPU machine without .NET): `tools/gpu-check.sh publish` here, then run
# `tools/gpu-check.sh run` there with carry ["samples/DeviceCheck/bin/gpu-check"] (bin/ is git-ignored).
# The published folder must stay under 64 MiB to travel to the GPU machine; this script fails if it does not.
# It is trimmed (TrimMode=partial: the framework only, ILGPU and CoreLib kept whole, see DeviceCheck.csproj):
# ~36 MiB; untrimmed it would be ~84 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."

publish() {
  local out="$1"
  rm -rf "$out"
  dotnet publish samples/DeviceCheck/DeviceCheck.csproj -c Release -r linux-x64 --self-contained \
    -o "$out" -nologo -v quiet
  local kib
  kib=$(du -sk "$out" | cut -f1)
  echo "published $out: $((kib / 1024)) MiB"
  if [ "$kib" -ge $((64 * 1024)) ]; then
    echo "error: $out is $((kib / 1024)) MiB; it must stay under 64 MiB" >&2
    exit 1
  fi
}

run() {
  local out="$1"; shift
  # First compile every kernel to PTX offline (fails fast if the trimmed build lost something ILGPU needs),
  # then the device checks. timeout: the whole check must finish well under 5 minutes.
  timeout 60 "$out/DeviceCheck" --ptx | tail -1
  timeout 240 "$out/DeviceCheck" "$@"
}

case "${1:-}" in
  publish) publish "${2:-samples/DeviceCheck/bin/gpu-check}" ;;
  run) shift; out="${1:-samples/DeviceCheck/bin/gpu-check}"; shift || true; run "$out" "$@" ;;
  *) publish samples/DeviceCheck/bin/gpu-check; run samples/DeviceCheck/bin/gpu-check "$@" ;;
esac
