using System.Reflection;
using CompiledNets.Kernels.Gpu;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace CompiledNets.Samples.DeviceCheck;

/// <summary>
/// Compiles every GPU kernel to PTX for SM_90 with ILGPU's PTX backend, without a GPU: proves that a published
/// (trimmed) build still has everything the CUDA compile path reflects on.
/// </summary>
internal static class PtxCheck
{
    public static int Run(TextWriter output)
    {
        var assembly = typeof(LinearKernels).Assembly;
        // A generic kernel is compiled for every struct meeting its type parameter's interface constraint (IGpuActivation, IGpuBinary, IGpuElementLoss).
        Type[] StructsFor(MethodInfo generic)
        {
            var constraints = generic.GetGenericArguments()[0].GetGenericParameterConstraints().Where(c => c.IsInterface).ToArray();
            return assembly.GetTypes().Where(t => t.IsValueType && constraints.All(c => c.IsAssignableFrom(t))).ToArray();
        }
        using var context = Context.Create(b => b.EnableAlgorithms());
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_83, null);
        int failures = 0, count = 0;
        foreach (var type in assembly.GetTypes().Where(t => t.Namespace == "CompiledNets.Kernels.Gpu" && t.IsAbstract && t.IsSealed))
        {
            foreach (var method in type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                .Where(m => m.Name.EndsWith("Kernel", StringComparison.Ordinal) && m.ReturnType == typeof(void)))
            {
                var instances = method.IsGenericMethodDefinition ? StructsFor(method).Select(a => method.MakeGenericMethod(a)) : [method];
                foreach (var kernel in instances)
                {
                    count++;
                    string name = $"{type.Name}.{kernel.Name}{(kernel.IsGenericMethod ? "<" + kernel.GetGenericArguments()[0].Name + ">" : "")}";
                    try
                    {
                        bool isExplicit = kernel.GetParameters()[0].ParameterType != typeof(Index1D);
                        var entry = isExplicit ? EntryPointDescription.FromExplicitlyGroupedKernel(kernel) : EntryPointDescription.FromImplicitlyGroupedKernel(kernel);
                        var specialization = KernelSpecialization.Empty;
                        var compiled = (PTXCompiledKernel)backend.Compile(entry, specialization);
                        output.WriteLine($"  ok   ptx {name,-52} {compiled.PTXAssembly.Count(c => c == '\n')} lines");
                    }
                    catch (Exception e)
                    {
                        failures++;
                        output.WriteLine($"  FAIL ptx {name}: {e.GetType().Name}: {e.Message}");
                    }
                }
            }
        }
        output.WriteLine(failures == 0 ? $"PASS: {count} kernels compile to PTX for sm_90" : $"FAIL: {failures} of {count} kernels did not compile to PTX");
        return failures == 0 ? 0 : 1;
    }
}
