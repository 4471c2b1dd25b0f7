namespace Pipeline.Training;

/// <summary>How the learning rate of a flow fit moves from its first step to its last.</summary>
public enum LearningRateSchedule
{
    /// <summary>The same rate for every step (DifferNet).</summary>
    Constant,

    /// <summary>
    /// From the configured rate down to zero along half a cosine, over all steps of the fit. The last steps are
    /// small, so the weights settle instead of ending on a noisy step; a higher starting rate then pays off.
    /// </summary>
    Cosine,
}

/// <summary>The learning rate of one optimisation step.</summary>
public static class LearningRateSchedules
{
    /// <param name="step">0-based step of the fit.</param>
    /// <param name="totalSteps">Steps in the whole fit.</param>
    public static double RateAt(LearningRateSchedule schedule, double initialRate, long step, long totalSteps) => schedule switch
    {
        LearningRateSchedule.Constant => initialRate,
        LearningRateSchedule.Cosine => initialRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Clamp((double)step / Math.Max(1, totalSteps), 0, 1))),
        _ => throw new ArgumentOutOfRangeException(nameof(schedule), schedule, "Unknown learning-rate schedule."),
    };
}
