using Xunit;

namespace CompiledNets.Tests.Devices;

/// <summary>
/// One ILGPU CPU-accelerator context shared by the GPU-kernel test classes (a collection runs its classes one after
/// another, so the context is never driven from two threads), so each kernel compiles once for the whole run.
/// </summary>
public sealed class IlgpuCpuFixture : IDisposable
{
    public DeviceContext Context { get; } = DeviceContext.Create(Device.IlgpuCpu);

    public void Dispose() => Context.Dispose();
}

[CollectionDefinition(Name)]
public sealed class IlgpuCpuCollection : ICollectionFixture<IlgpuCpuFixture>
{
    public const string Name = "ILGPU CPU accelerator";
}
