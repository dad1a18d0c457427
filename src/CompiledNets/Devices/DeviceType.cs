namespace CompiledNets;

/// <summary>The kind of a <see cref="Device"/> (PyTorch: <c>torch.device.type</c>).</summary>
public enum DeviceType
{
    /// <summary>The host CPU, running CompiledNets' own SIMD kernels (<c>Kernels.Cpu</c>); never ILGPU.</summary>
    Cpu,

    /// <summary>An NVIDIA GPU through ILGPU's CUDA accelerator.</summary>
    Cuda,

    /// <summary>An OpenCL device (GPU or CPU driver) through ILGPU's OpenCL accelerator.</summary>
    OpenCL,

    /// <summary>
    /// ILGPU's CPU accelerator: a thread simulator that runs the GPU kernels (<c>Kernels.Gpu</c>) on the host, so
    /// that every GPU kernel can be tested without a GPU. Slow; for correctness at small sizes, not for speed.
    /// </summary>
    IlgpuCpu,
}
