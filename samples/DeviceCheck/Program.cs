using System.Diagnostics;
using System.Runtime.InteropServices;
using CompiledNets;
using CompiledNets.Samples.DeviceCheck;
using ILGPU;
using ILGPU.Runtime.OpenCL;

// DeviceCheck: lists the devices ILGPU sees and checks every GPU kernel against the CPU kernels on one of them.
// Exit codes: 0 all checks passed, 1 a check failed, 2 bad arguments, 3 the device is not available.
// --ptx compiles every kernel to PTX for sm_90 without a GPU (checks that a trimmed publish can still compile).
const string Usage = "usage: DeviceCheck [--device cuda:0|opencl:N|ilgpu-cpu] [--large|--small] [--time|--no-time] [--steps N] | --ptx";
Device device = Device.Cuda(0);
bool? large = null, time = null;
int? flatSteps = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--device" when i + 1 < args.Length:
            if (!Device.TryParse(args[++i], out var parsed) || parsed.Type == DeviceType.Cpu)
            {
                Console.Error.WriteLine($"error: --device must be cuda:N, opencl:N or ilgpu-cpu; got '{args[i]}'");
                return 2;
            }
            device = parsed;
            break;
        case "--large": large = true; break;
        case "--small": large = false; break;
        case "--time": time = true; break;
        case "--no-time": time = false; break;
        case "--steps" when i + 1 < args.Length:
            if (!int.TryParse(args[++i], out int n) || n < 3)
            {
                Console.Error.WriteLine($"error: --steps must be a whole number ≥ 3; got '{args[i]}'");
                return 2;
            }
            flatSteps = n;
            break;
        case "--ptx":
            // Offline: compile every kernel to PTX (no GPU needed), then stop.
            return PtxCheck.Run(Console.Out);
        case "-h" or "--help":
            Console.WriteLine(Usage);
            return 0;
        default:
            Console.Error.WriteLine($"error: unknown argument '{args[i]}'\n{Usage}");
            return 2;
    }
}
// ILGPU's CPU accelerator simulates threads: big sizes and timings are for real devices.
bool simulated = device.Type == DeviceType.IlgpuCpu;
large ??= !simulated;
time ??= !simulated;
flatSteps ??= simulated ? 300 : 10_000; // the memory-flat check: 10,000 steps on a GPU (seconds), 300 simulated

var total = Stopwatch.StartNew();
Console.WriteLine($"CompiledNets DeviceCheck on {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, {Environment.ProcessorCount} CPUs");
Console.WriteLine($"CUDA: {Cuda.DeviceCount} device(s)" + (Cuda.IsAvailable() ? "" : $" — {Cuda.UnavailableReason}"));
for (int i = 0; i < Cuda.DeviceCount; i++)
{
    var (major, minor) = Cuda.GetDeviceCapability(i);
    Console.WriteLine($"  cuda:{i}  {Cuda.GetDeviceName(i)}  capability {major}.{minor}");
}
try
{
    using var cl = Context.Create(b => b.OpenCL());
    var clDevices = cl.GetCLDevices();
    Console.WriteLine($"OpenCL: {clDevices.Count} device(s)");
    for (int i = 0; i < clDevices.Count; i++)
    {
        Console.WriteLine($"  opencl:{i}  {clDevices[i].Name}");
    }
}
catch (Exception e)
{
    Console.WriteLine($"OpenCL: not available ({e.GetType().Name}: {e.Message})");
}
Console.WriteLine("ILGPU CPU accelerator: ilgpu-cpu (always present; a thread simulator for tests)");

DeviceContext ctx;
try
{
    var sw = Stopwatch.StartNew();
    ctx = DeviceContext.Create(device);
    Console.WriteLine($"\nChecking {ctx} — {ctx.MemorySize / (1 << 20):N0} MiB, {ctx.MaxThreadsPerGroup} threads/group, context in {sw.ElapsedMilliseconds} ms");
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 3;
}
using (ctx)
{
    var checks = new ParityChecks(ctx, Console.Out);
    var pass = Stopwatch.StartNew();
    checks.RunAll(large.Value);
    int compiled = checks.Checks > 0 ? ctx.CompiledKernelCount : 0;
    Console.WriteLine($"first pass: {checks.Checks} checks in {pass.Elapsed.TotalSeconds:F1} s, {compiled} kernels compiled");
    pass.Restart();
    var again = new ParityChecks(ctx, TextWriter.Null);
    again.RunAll(large: false);
    Console.WriteLine($"second pass (small sizes): {again.Checks} checks in {pass.Elapsed.TotalSeconds:F1} s, {ctx.CompiledKernelCount - compiled} more kernels compiled, {again.Failures} failed");
    if (time.Value)
    {
        checks.Time(256, 784, 1024, 50);
        checks.Time(256, 1024, 1024, 50);
        checks.Time(256, 1024, 10, 50);
    }
    Console.WriteLine("models trained through the generated GPU path against the CPU path:");
    int modelFailures = ModelChecks.Run(device, time.Value, flatSteps.Value, Console.Out);
    int failures = checks.Failures + again.Failures + (ctx.CompiledKernelCount != compiled ? 1 : 0) + modelFailures;
    Console.WriteLine(failures == 0
        ? $"PASS: {checks.Checks + again.Checks} kernel checks and {ModelChecks.Count} model and loss checks on {ctx.Device} within {ParityChecks.Tolerance:E0} relative, masks bit-identical ({total.Elapsed.TotalSeconds:F1} s)"
        : $"FAIL: {failures} check(s) failed on {ctx.Device} ({total.Elapsed.TotalSeconds:F1} s)");
    return failures == 0 ? 0 : 1;
}
