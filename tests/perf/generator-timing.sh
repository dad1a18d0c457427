#!/usr/bin/env bash
# Generator time for a project of 50 [Model] classes (3-6 layers each), as the compiler reports it with
# -p:ReportAnalyzer=true, and the time to compile the generated code. See tests/perf/README.md.
#
#   tests/perf/generator-timing.sh [models=50] [repeats=3]
#
# cold: a fresh compiler process per build (UseSharedCompilation=false, as CI builds), --no-incremental.
# warm: the compiler server (VBCSCompiler) keeps the generator driver between builds, as an editor does; one
#       build to warm it, then an edit of an unrelated file and a rebuild: the generator's incremental run.
# generated code: Csc time of the models + the generated .g.cs files compiled as plain sources (no generator)
#       minus Csc time of the models alone (no generator, nothing generated), fresh compiler each time.
set -euo pipefail
models=${1:-50}
repeats=${2:-3}
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d /tmp/compilednets-perf-XXXXXX)"
trap 'dotnet build-server shutdown >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

dotnet build "$root/generators/CompiledNets.Generators" -c Release -v:q -nologo >/dev/null
dotnet build "$root/src/CompiledNets" -c Release -v:q -nologo >/dev/null
runtime="$root/src/CompiledNets/bin/Release/net10.0/CompiledNets.dll"
generator="$root/generators/CompiledNets.Generators/bin/Release/netstandard2.0/CompiledNets.Generators.dll"

# $1: project dir, $2: extra csproj items
project() {
  mkdir -p "$1"
  cat > "$1/App.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Library</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <EmitCompilerGeneratedFiles>true</EmitCompilerGeneratedFiles>
  </PropertyGroup>
  <ItemGroup>
    <Reference Include="$runtime" />
    $2
  </ItemGroup>
</Project>
XML
}

# 50 models: Linear(in,h), ReLU, Linear(h,out) then up to three more layers (Dropout, Tanh, Linear(out,out)).
models_dir="$work/models"; mkdir -p "$models_dir"
for ((i = 0; i < models; i++)); do
  in=$((4 + i % 13)); h=$((16 + (i * 7) % 48)); out=$((2 + i % 9)); extra=$((i % 4))
  {
    echo "using CompiledNets;"
    echo "namespace Perf;"
    echo "[Model] public partial class Net$i"
    echo "{"
    echo "    [Layer] readonly Linear l0 = new($in, $h);"
    echo "    [Layer] readonly ReLU r0 = new();"
    echo "    [Layer] readonly Linear l1 = new($h, $out);"
    [ $extra -ge 1 ] && echo "    [Layer] readonly Dropout d0 = new(0.1f);"
    [ $extra -ge 2 ] && echo "    [Layer] readonly Tanh t0 = new();"
    [ $extra -ge 3 ] && echo "    [Layer] readonly Linear l2 = new($out, $out);"
    echo "}"
  } > "$models_dir/Net$i.cs"
done
echo "namespace Perf; public static class Unrelated { public const int Value = 0; }" > "$models_dir/Unrelated.cs"

gen="$work/gen"; project "$gen" "<Analyzer Include=\"$generator\" />"; cp "$models_dir"/*.cs "$gen/"

# Prints the generator's time (ms) from a detailed build log on stdin.
generator_ms() { grep -E '^\s+[<0-9.]+\s+[0-9<]+\s+CompiledNets\.Generators\.ModelGenerator' | tail -1 | awk '{print $1 * 1000}'; }
# Prints the Csc task's time (ms) from a build with -clp:PerformanceSummary on stdin.
csc_ms() { grep -E '^\s+[0-9]+ ms\s+Csc\s' | tail -1 | awk '{print $1}'; }

echo "models: $models; layers per model: 3-6; machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
dotnet build-server shutdown >/dev/null 2>&1 || true

echo "cold (fresh compiler process, --no-incremental), generator ms:"
for ((r = 0; r < repeats; r++)); do
  dotnet build "$gen" -c Release --no-incremental -nodeReuse:false -p:UseSharedCompilation=false -p:ReportAnalyzer=true -v:d | generator_ms
done

echo "warm (compiler server; first build, then an unrelated edit and rebuild), generator ms:"
dotnet build "$gen" -c Release --no-incremental -p:UseSharedCompilation=true -p:ReportAnalyzer=true -v:d | generator_ms | sed 's/^/  first build: /'
for ((r = 0; r < repeats; r++)); do
  echo "namespace Perf; public static class Unrelated { public const int Value = $((r + 1)); }" > "$gen/Unrelated.cs"
  dotnet build "$gen" -c Release -p:UseSharedCompilation=true -p:ReportAnalyzer=true -v:d | generator_ms | sed 's/^/  after edit: /'
done
dotnet build-server shutdown >/dev/null 2>&1 || true

generated_files="$(find "$gen/obj/Release/net10.0/generated" -name '*.g.cs' | wc -l)"
generated_lines="$(find "$gen/obj/Release/net10.0/generated" -name '*.g.cs' -exec cat {} + | wc -l)"
echo "generated: $generated_files files, $generated_lines lines"

plain="$work/plain"; project "$plain" ""; cp "$models_dir"/*.cs "$plain/"
withgen="$work/withgen"; project "$withgen" ""; cp "$models_dir"/*.cs "$withgen/"
find "$gen/obj/Release/net10.0/generated" -name '*.g.cs' -exec cp {} "$withgen/" \;
echo "Csc ms (fresh compiler process): models alone | models + generated code as plain sources:"
for ((r = 0; r < repeats; r++)); do
  a=$(dotnet build "$plain" -c Release --no-incremental -nodeReuse:false -p:UseSharedCompilation=false -clp:PerformanceSummary | csc_ms)
  b=$(dotnet build "$withgen" -c Release --no-incremental -nodeReuse:false -p:UseSharedCompilation=false -clp:PerformanceSummary | csc_ms)
  echo "  $a | $b  (generated code: $((b - a)) ms)"
done
