using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Xunit;
using Gpu = CompiledNets.Kernels.Gpu;

namespace CompiledNets.Tests.Devices;

/// <summary>
/// Every GPU kernel compiles to PTX for the H200 (SM_90) with ILGPU's PTX backend, offline: no GPU or driver is
/// needed to find a construct that the CPU accelerator runs but the CUDA backend rejects.
/// </summary>
public sealed class PtxCompileTests
{
    /// <summary>Every <c>static …Kernel</c> method of <c>Kernels.Gpu</c>, generic ones instantiated with each activation struct.</summary>
    public static TheoryData<string> Kernels()
    {
        var data = new TheoryData<string>();
        foreach (var (name, _, _) in AllKernels())
        {
            data.Add(name);
        }
        return data;
    }

    private static IEnumerable<(string Name, MethodInfo Method, bool Explicit)> AllKernels()
    {
        var assembly = typeof(Gpu.LinearKernels).Assembly;
        // A generic kernel is instantiated with every struct that meets its type parameter's interface constraint
        // (IGpuActivation, IGpuBinary, …).
        Type[] StructsFor(MethodInfo generic)
        {
            var constraints = generic.GetGenericArguments()[0].GetGenericParameterConstraints().Where(c => c.IsInterface).ToArray();
            return assembly.GetTypes()
                .Where(t => t.IsValueType && constraints.All(c => c.IsAssignableFrom(t)))
                .OrderBy(t => t.FullName, StringComparer.Ordinal)
                .ToArray();
        }
        var types = assembly.GetTypes().Where(t => t.Namespace == "CompiledNets.Kernels.Gpu" && t.IsClass && t.IsAbstract && t.IsSealed);
        foreach (var type in types.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            foreach (var method in type.GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
                .Where(m => m.Name.EndsWith("Kernel", StringComparison.Ordinal) && m.ReturnType == typeof(void))
                .OrderBy(m => m.Name, StringComparer.Ordinal))
            {
                bool isExplicit = method.GetParameters()[0].ParameterType != typeof(Index1D);
                if (method.IsGenericMethodDefinition)
                {
                    foreach (var act in StructsFor(method))
                    {
                        yield return ($"{type.Name}.{method.Name}<{act.Name}>", method.MakeGenericMethod(act), isExplicit);
                    }
                }
                else
                {
                    yield return ($"{type.Name}.{method.Name}", method, isExplicit);
                }
            }
        }
    }

    [Fact]
    public void The_kernel_list_covers_every_family()
    {
        var names = AllKernels().Select(k => k.Name).ToArray();
        Assert.Contains("LinearKernels.GemmKernel", names);
        Assert.Contains("LossKernels.CrossEntropyKernel", names);
        Assert.Contains("OptimizerKernels.AdamKernel", names);
        Assert.Contains("OptimizerKernels.SgdKernel", names);
        Assert.Contains("DropoutKernels.ForwardKernel", names);
        Assert.Contains("ActivationKernels.ForwardKernel<TanhActivation>", names);
        Assert.Contains("ArithmeticKernels.BinaryKernel<MultiplyOperator>", names);
        Assert.Contains("ArithmeticKernels.CatBackwardKernel", names);
        Assert.Contains("SoftmaxKernels.LogBackwardKernel", names);
        Assert.Contains("ActivationKernels.BackwardKernel<MaskGradient>", names);
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Compiles_to_PTX_for_SM_90(string name)
    {
        var (_, method, isExplicit) = AllKernels().Single(k => k.Name == name);
        using var context = Context.Create(b => b.EnableAlgorithms());
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_83, null);
        var entry = isExplicit
            ? EntryPointDescription.FromExplicitlyGroupedKernel(method)
            : EntryPointDescription.FromImplicitlyGroupedKernel(method);
        var specialization = KernelSpecialization.Empty;
        var kernel = (PTXCompiledKernel)backend.Compile(entry, specialization);
        string ptx = kernel.PTXAssembly;
        Assert.Contains(".visible .entry", ptx);
        Assert.Contains(".target sm_", ptx);
        // No double precision (1/64 of the float rate on consumer GPUs) and no approximate exp (GpuMath.Exp instead).
        Assert.DoesNotContain(".f64", ptx);
        Assert.DoesNotContain("ex2.approx", ptx);
    }
}
