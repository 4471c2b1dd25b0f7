namespace Pipeline.Scoring.Evaluation;

/// <summary>An axis range made of whole steps of a round size, so that its ticks read as round numbers.</summary>
internal readonly record struct RoundAxis(double Low, double Step, int StepCount)
{
    public double High => Low + StepCount * Step;

    public IEnumerable<double> Ticks
    {
        get
        {
            var (low, step) = (Low, Step);
            return Enumerable.Range(0, StepCount + 1).Select(i => low + i * step);
        }
    }

    /// <summary>
    /// The range of whole steps around [<paramref name="lowest"/>, <paramref name="highest"/>], the step
    /// being the smallest of 1, 2, 2.5 or 5 × 10^k that spans the values in at most <paramref name="maxSteps"/> steps
    /// (one more where the values straddle step boundaries).
    /// </summary>
    public static RoundAxis Around(double lowest, double highest, int maxSteps)
    {
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10((highest - lowest) / maxSteps)));
        var step = new[] { 1, 2, 2.5, 5, 10 }.Select(m => m * magnitude)
            .First(c => (highest - lowest) / c <= maxSteps * (1 + 1e-9));
        var low = Math.Floor(lowest / step) * step;
        return new RoundAxis(low, step, Math.Max(1, (int)Math.Ceiling((highest - low) / step - 1e-9)));
    }
}
