namespace Pipeline.Shared.Maps;

/// <summary>
/// Finds the areas of an anomaly map above a level: 8-connected components of the pixels strictly above it, the
/// <c>maxRegions</c> with the highest peaks first, scaled from the map's pixels to the frame's.
/// </summary>
public static class AnomalyRegions
{
    /// <summary>Regions of <paramref name="map"/> above <paramref name="level"/>, in the coordinates of a frame of <paramref name="frame"/>'s size.</summary>
    /// <param name="map">The map over the prepared image (it covers the whole frame, resized to the map's size).</param>
    /// <param name="level">Map values strictly above it belong to a region.</param>
    /// <param name="maxRegions">At most this many regions, those with the highest peaks; ties by larger area, then top-left first.</param>
    /// <param name="frame">The size of the frame as the camera sent it.</param>
    public static IReadOnlyList<AnomalyRegion> Find(AnomalyMap map, double level, int maxRegions, FrameSize frame)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxRegions);
        if (frame.Width <= 0 || frame.Height <= 0)
            throw new ArgumentOutOfRangeException(nameof(frame), $"The frame size must be positive, got {frame.Width}x{frame.Height}.");
        if (maxRegions == 0 || double.IsNaN(level)) return [];

        var (width, height) = (map.Width, map.Height);
        var component = new int[width * height]; // 0: not visited or below the level; k > 0: component k
        var stack = new Stack<int>();
        var found = new List<Component>();
        for (var start = 0; start < component.Length; start++)
        {
            if (component[start] != 0 || !(map.Values[start] > level)) continue;
            var id = found.Count + 1;
            var c = new Component(start % width, start / width);
            component[start] = id;
            stack.Push(start);
            while (stack.Count > 0)
            {
                var at = stack.Pop();
                int x = at % width, y = at / width;
                c.Add(x, y, map.Values[at]);
                for (var dy = -1; dy <= 1; dy++)
                for (var dx = -1; dx <= 1; dx++)
                {
                    int nx = x + dx, ny = y + dy;
                    if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
                    var next = ny * width + nx;
                    if (component[next] != 0 || !(map.Values[next] > level)) continue;
                    component[next] = id;
                    stack.Push(next);
                }
            }
            found.Add(c);
        }

        double scaleX = (double)frame.Width / width, scaleY = (double)frame.Height / height;
        return found
            .OrderByDescending(c => c.Peak).ThenByDescending(c => c.Pixels).ThenBy(c => c.MinY).ThenBy(c => c.MinX)
            .Take(maxRegions)
            .Select(c =>
            {
                // Map pixel x covers frame pixels [x·sx, (x+1)·sx): the box is every frame pixel a region pixel touches.
                var left = (int)Math.Floor(c.MinX * scaleX);
                var top = (int)Math.Floor(c.MinY * scaleY);
                var right = Math.Min(frame.Width, (int)Math.Ceiling((c.MaxX + 1) * scaleX));
                var bottom = Math.Min(frame.Height, (int)Math.Ceiling((c.MaxY + 1) * scaleY));
                var peakX = Math.Min(frame.Width - 1, (int)Math.Floor((c.PeakX + 0.5) * scaleX));
                var peakY = Math.Min(frame.Height - 1, (int)Math.Floor((c.PeakY + 0.5) * scaleY));
                var area = (int)Math.Round(c.Pixels * scaleX * scaleY);
                return new AnomalyRegion(left, top, right - left, bottom - top, c.Peak, peakX, peakY, Math.Max(1, area));
            })
            .ToArray();
    }

    private sealed class Component(int firstX, int firstY)
    {
        public int MinX = firstX, MinY = firstY, MaxX = firstX, MaxY = firstY, PeakX = firstX, PeakY = firstY, Pixels;
        public double Peak = double.NegativeInfinity;

        public void Add(int x, int y, float value)
        {
            MinX = Math.Min(MinX, x); MaxX = Math.Max(MaxX, x);
            MinY = Math.Min(MinY, y); MaxY = Math.Max(MaxY, y);
            Pixels++;
            if (value > Peak || (value == Peak && (y < PeakY || (y == PeakY && x < PeakX))))
            {
                Peak = value;
                (PeakX, PeakY) = (x, y);
            }
        }
    }
}
