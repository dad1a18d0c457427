using Xunit;

// Generator.Default is process-wide (like torch.manual_seed), and many tests seed it and compare runs bit for bit:
// tests running at once would draw from each other's sequence. The suite runs one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
