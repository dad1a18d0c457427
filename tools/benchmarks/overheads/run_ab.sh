#!/usr/bin/env bash
# A/B of the per-step overheads: builds this harness against an old commit (default: main) and against this checkout,
# then runs them alternately. Usage: tools/benchmarks/overheads/run_ab.sh [OLD_REF] [ROUNDS] [SECONDS]
# The machine may be loaded: compare ratios within a round, not absolute times.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
old_ref="${1:-main}"; rounds="${2:-3}"; seconds="${3:-0.5}"
work="$(mktemp -d)"
git -C "$root" archive "$old_ref" src generators Directory.Build.props Directory.Packages.props | tar -x -C "$work"
mkdir -p "$work/harness" && cp "$here/Overheads.csproj" "$here/Program.cs" "$work/harness/"
dotnet build -c Release "$work/harness/Overheads.csproj" -p:CompiledNetsRoot="$work" -o "$work/old" >/dev/null
dotnet build -c Release "$here/Overheads.csproj" -p:WithCrossEntropyKernel=true -o "$work/new" >/dev/null
export DOTNET_TC_CallCountingDelayMs=0
for i in $(seq "$rounds"); do
  echo "== round $i: old ($old_ref)"; "$work/old/Overheads" all "$seconds"
  echo "== round $i: new (working tree)"; "$work/new/Overheads" all "$seconds"
done
"$work/new/Overheads" loss "$seconds"
