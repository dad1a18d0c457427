using CompiledNets.Tests.Models;
using Xunit;

namespace CompiledNets.Tests.Runtime;

/// <summary>
/// <see cref="Generator.Default"/> is process-wide, as <c>torch.manual_seed</c> is: a seed holds across <c>await</c>
/// and on other threads, and concurrent draws are atomic.
/// </summary>
public class DefaultGeneratorTests
{
    private static float[] Weights(Module net) => net.Parameters().SelectMany(p => p.Data.ToArray()).ToArray();

    [Fact]
    public async Task A_seed_set_before_await_holds_after_the_continuation_moves_to_another_thread()
    {
        Generator.Default.ManualSeed(42);
        float[] expected = Weights(new TutorialNet());

        Generator.Default.ManualSeed(42);
        var (afterAwait, seededOn, drewOn) = await BuildAfterAwaitsAsync();

        Assert.NotEqual(seededOn, drewOn);
        Assert.Equal(expected, afterAwait);
    }

    /// <summary>Awaits a delay, then forces the continuation onto a new thread, and builds a net there.</summary>
    private static async Task<(float[] Weights, int SeededOn, int DrewOn)> BuildAfterAwaitsAsync()
    {
        int before = Environment.CurrentManagedThreadId;
        await Task.Delay(10).ConfigureAwait(false);
        // A task completed by a new thread runs its ConfigureAwait(false) continuation on that thread, which is
        // certainly not the one that seeded.
        var done = new TaskCompletionSource();
        new Thread(() => done.SetResult()).Start();
        await done.Task.ConfigureAwait(false);
        return (Weights(new TutorialNet()), before, Environment.CurrentManagedThreadId);
    }

    [Fact]
    public void A_seed_set_on_one_thread_holds_on_a_new_thread()
    {
        Generator.Default.ManualSeed(7);
        float[] expected = Weights(new TutorialNet());
        Generator.Default.ManualSeed(7);
        float[]? onThread = null;
        var thread = new Thread(() => onThread = Weights(new TutorialNet()));
        thread.Start();
        thread.Join();
        Assert.Equal(expected, onThread);
        Assert.Same(Generator.Default, Generator.Default);
    }

    [Fact]
    public void Concurrent_draws_are_atomic_each_number_of_the_sequence_goes_to_exactly_one_thread()
    {
        const int threads = 4, draws = 20_000;
        var shared = new Generator(123);
        var got = new ulong[threads][];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var mine = new ulong[draws];
            start.SignalAndWait();
            for (int i = 0; i < draws; i++)
            {
                mine[i] = shared.NextUInt64();
            }
            got[t] = mine;
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());

        var reference = new Generator(123);
        var expected = Enumerable.Range(0, threads * draws).Select(_ => reference.NextUInt64()).Order().ToArray();
        Assert.Equal(expected, got.SelectMany(g => g).Order().ToArray());
        // And the shared generator ends exactly where the sequential one does.
        Assert.Equal(reference.GetState(), shared.GetState());
    }

    [Fact]
    public void A_dropout_mask_is_one_atomic_draw()
    {
        // Two threads drawing whole masks from one generator: each mask is keyed by one draw of the sequence, so it
        // equals the mask keyed by the first or the second draw of a fresh generator with the same seed.
        const int n = 4096;
        var shared = new Generator(5);
        var masks = new float[2][];
        var workers = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            var x = Tensor.FromArray(Enumerable.Repeat(1f, n).ToArray(), 1, n);
            masks[t] = new Dropout(0.5f) { Generator = shared }.Forward(x).ToArray();
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());

        var reference = new Generator(5);
        var first = new float[n];
        var second = new float[n];
        global::CompiledNets.Kernels.Cpu.PhiloxDropoutKernels.Forward(new float[n], first, 0.5f, new PhiloxKey(reference.NextUInt64(), 0, 0));
        global::CompiledNets.Kernels.Cpu.PhiloxDropoutKernels.Forward(new float[n], second, 0.5f, new PhiloxKey(reference.NextUInt64(), 0, 0));
        Assert.Contains(0f, first);
        Assert.Contains(2f, first);
        Assert.False(first.SequenceEqual(second));
        Assert.True((masks[0].SequenceEqual(first) && masks[1].SequenceEqual(second))
                    || (masks[0].SequenceEqual(second) && masks[1].SequenceEqual(first)));
        Assert.Equal(reference.GetState(), shared.GetState());
    }
}
