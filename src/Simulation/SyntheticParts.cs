using Pipeline.Shared.Data;
using Pipeline.Shared.Imaging;

namespace Pipeline.Simulation;

/// <summary>The kinds of surface defect <see cref="SyntheticParts"/> draws.</summary>
public enum DefectKind
{
    /// <summary>A thin straight line, 2 to 4 px wide, darker or brighter, 30-70% of the image long, at any angle.</summary>
    Scratch,

    /// <summary>A dark disc, radius 5-10% of the image, with a slightly bright rim.</summary>
    Hole,

    /// <summary>An irregular rust-coloured blotch, radius 8-15% of the image, with soft edges.</summary>
    Stain,
}

/// <summary>
/// What a kind of part looks like: its surface colour (<c>channel = level · Tint + Offset</c> for a grey level around
/// <see cref="Brightness"/>), the direction of its grain, and the defects it gets. <see cref="Steel"/> is the part of
/// the single-product demo; <see cref="Products"/> are the demo's kinds of parts with <c>--products N</c>.
/// </summary>
/// <param name="Name">A product name (<c>bracket-a</c>): what the demo calls this kind of part.</param>
/// <param name="Brightness">Mean grey level of the surface before tinting, 0..255.</param>
/// <param name="Tint">Red, green and blue factors on the grey level.</param>
/// <param name="Offset">Red, green and blue levels added after the factors.</param>
/// <param name="VerticalGrain">Brushing streaks run top to bottom instead of left to right.</param>
/// <param name="Defects">The defects this kind of part gets, one test folder each.</param>
public sealed record PartLook(string Name, double Brightness, (double Red, double Green, double Blue) Tint, (double Red, double Green, double Blue) Offset,
    bool VerticalGrain, IReadOnlyList<DefectKind> Defects)
{
    /// <summary>Brushed steel, slightly blue, with horizontal grain; every kind of defect.</summary>
    public static PartLook Steel { get; } = new("steel", 125, (0.97, 0.99, 1.03), (0, 0, 2), VerticalGrain: false, [DefectKind.Scratch, DefectKind.Hole, DefectKind.Stain]);

    /// <summary>
    /// The demo's kinds of parts, each visibly different from the others in colour, grain or both, and with its own
    /// pair of defects: a steel bracket, a dark rubber gasket, a brass plate and a blue-painted cover.
    /// </summary>
    public static IReadOnlyList<PartLook> Products { get; } =
    [
        Steel with { Name = "bracket-a", Defects = [DefectKind.Scratch, DefectKind.Hole] },
        new("gasket-b", 72, (0.92, 0.92, 0.96), (6, 6, 6), VerticalGrain: true, [DefectKind.Scratch, DefectKind.Stain]),
        new("plate-c", 150, (1.10, 0.92, 0.55), (0, 0, 0), VerticalGrain: true, [DefectKind.Hole, DefectKind.Stain]),
        new("cover-d", 110, (0.55, 0.80, 1.35), (0, 0, 0), VerticalGrain: false, [DefectKind.Scratch, DefectKind.Hole]),
    ];
}

/// <summary>
/// Square camera images of a part (brushed steel unless another <see cref="PartLook"/> is given), with or without a
/// surface defect, for tests and the demo camera. Everything random is drawn from the <see cref="Random"/> passed in,
/// in a fixed order, so a seeded generator gives the same images on every run.
/// </summary>
/// <remarks>
/// A good part has fine brushing streaks along its grain, smooth illumination changes across the part and
/// pixel noise; brightness, streaks and illumination differ a little from part to part. A defect only
/// changes the pixels it covers.
/// </remarks>
public sealed class SyntheticParts
{
    /// <param name="size">Width and height of the images in pixels, at least 32.</param>
    /// <param name="look">What the parts look like; <see cref="PartLook.Steel"/> when null.</param>
    public SyntheticParts(int size, PartLook? look = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 32);
        Size = size;
        Look = look ?? PartLook.Steel;
    }

    /// <summary>Width and height of the images, in pixels.</summary>
    public int Size { get; }

    public PartLook Look { get; }

    /// <summary>A defect-free part.</summary>
    public RgbImage Good(Random rng)
    {
        int size = Size;
        var (look, vertical) = (Look, Look.VerticalGrain);
        double brightness = look.Brightness + 10 * Symmetric(rng);
        // Brushing: every row gets its own offset, smoothed over neighbouring rows into 1-3 px streaks,
        // plus a regular fine ripple; the streaks fade in and out slowly along the row.
        var rowNoise = new double[size];
        for (int y = 0; y < size; y++)
            rowNoise[y] = 7 * Gaussian(rng);
        double ripplePeriod = 3 + 2 * rng.NextDouble();
        double ripplePhase = 2 * Math.PI * rng.NextDouble();
        double fadePhase = 2 * Math.PI * rng.NextDouble();
        // Illumination: a tilt plus a darkening away from a light centre near the middle.
        double tiltX = 12 * Symmetric(rng), tiltY = 12 * Symmetric(rng);
        double lightX = 0.5 + 0.15 * Symmetric(rng), lightY = 0.5 + 0.15 * Symmetric(rng);

        var pixels = new byte[size * size * 3];
        for (int y = 0; y < size; y++)
        {
            double streak = (rowNoise[Math.Max(y - 1, 0)] + 2 * rowNoise[y] + rowNoise[Math.Min(y + 1, size - 1)]) / 4
                + 3 * Math.Sin(2 * Math.PI * y / ripplePeriod + ripplePhase);
            double v = (double)y / size;
            for (int x = 0; x < size; x++)
            {
                double u = (double)x / size;
                double fade = 0.75 + 0.25 * Math.Sin(2 * Math.PI * u * 1.5 + fadePhase);
                double distanceSquared = (u - lightX) * (u - lightX) + (v - lightY) * (v - lightY);
                double level = brightness + streak * fade + tiltX * (u - 0.5) + tiltY * (v - 0.5)
                    - 40 * distanceSquared + 2.5 * Gaussian(rng);
                // Drawn along rows; a part with vertical grain gets the picture transposed.
                int at = (vertical ? x * size + y : y * size + x) * 3;
                pixels[at] = ToByte(level * look.Tint.Red + look.Offset.Red);
                pixels[at + 1] = ToByte(level * look.Tint.Green + look.Offset.Green);
                pixels[at + 2] = ToByte(level * look.Tint.Blue + look.Offset.Blue);
            }
        }
        return new RgbImage(size, size, pixels);
    }

    /// <summary>A part with one defect of the given kind.</summary>
    public RgbImage Defective(Random rng, DefectKind kind) => WithDefect(Good(rng), rng, kind);

    /// <summary>A copy of <paramref name="part"/> with one defect of the given kind drawn on it; pixels outside the defect are unchanged.</summary>
    public static RgbImage WithDefect(RgbImage part, Random rng, DefectKind kind)
    {
        var pixels = (byte[])part.Pixels.Clone();
        var canvas = new RgbImage(part.Width, part.Height, pixels);
        switch (kind)
        {
            case DefectKind.Scratch:
                DrawScratch(canvas, rng);
                break;
            case DefectKind.Hole:
                DrawHole(canvas, rng);
                break;
            case DefectKind.Stain:
                DrawStain(canvas, rng);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown defect kind.");
        }
        return canvas;
    }

    /// <summary>
    /// Writes a category folder in the MVTec AD layout (see <see cref="MvtecDataset"/>) of
    /// <paramref name="size"/>-pixel PNGs of parts that look as <paramref name="look"/> says (steel by default):
    /// train/good, test/good, and one test folder per defect of the look (for steel: test/scratch, test/hole,
    /// test/stain). Files are named 000.png, 001.png, ...
    /// </summary>
    public static void WriteMvtecFolder(string root, int trainGood, int testGood, int testPerDefect, int size, int seed, PartLook? look = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(trainGood);
        ArgumentOutOfRangeException.ThrowIfNegative(testGood);
        ArgumentOutOfRangeException.ThrowIfNegative(testPerDefect);
        var parts = new SyntheticParts(size, look);
        var rng = new Random(seed);
        WriteImages(Path.Combine(root, "train", MvtecDataset.GoodLabel), trainGood, () => parts.Good(rng));
        WriteImages(Path.Combine(root, "test", MvtecDataset.GoodLabel), testGood, () => parts.Good(rng));
        foreach (var kind in parts.Look.Defects)
            WriteImages(Path.Combine(root, "test", kind.ToString().ToLowerInvariant()), testPerDefect, () => parts.Defective(rng, kind));
    }

    private static void WriteImages(string folder, int count, Func<RgbImage> next)
    {
        Directory.CreateDirectory(folder);
        for (int i = 0; i < count; i++)
            File.WriteAllBytes(Path.Combine(folder, $"{i:D3}.png"), ImageEncoding.ToPng(next()));
    }

    private static void DrawScratch(RgbImage canvas, Random rng)
    {
        int shorter = Math.Min(canvas.Width, canvas.Height);
        double length = shorter * (0.3 + 0.4 * rng.NextDouble());
        double angle = Math.PI * rng.NextDouble();
        double halfWidth = rng.Next(2, 5) / 2.0;
        double change = (rng.Next(2) == 0 ? -1 : 1) * (55 + 30 * rng.NextDouble());
        double halfX = Math.Cos(angle) * length / 2, halfY = Math.Sin(angle) * length / 2;
        double centerX = Between(rng, Math.Abs(halfX) + 3, canvas.Width - Math.Abs(halfX) - 3);
        double centerY = Between(rng, Math.Abs(halfY) + 3, canvas.Height - Math.Abs(halfY) - 3);
        var (ax, ay, bx, by) = (centerX - halfX, centerY - halfY, centerX + halfX, centerY + halfY);

        Paint(canvas, Math.Min(ax, bx) - 3, Math.Min(ay, by) - 3, Math.Max(ax, bx) + 3, Math.Max(ay, by) + 3, (x, y, rgb) =>
        {
            double cover = Coverage(halfWidth - DistanceToSegment(x, y, ax, ay, bx, by));
            if (cover == 0)
                return false;
            for (int c = 0; c < 3; c++)
                rgb[c] += change * cover;
            return true;
        });
    }

    private static void DrawHole(RgbImage canvas, Random rng)
    {
        int shorter = Math.Min(canvas.Width, canvas.Height);
        double radius = shorter * (0.05 + 0.05 * rng.NextDouble());
        double rim = Math.Max(1.0, radius * 0.3);
        double bottom = 25 + 15 * rng.NextDouble();
        double reach = radius + rim + 1;
        double centerX = Between(rng, reach + 2, canvas.Width - reach - 2);
        double centerY = Between(rng, reach + 2, canvas.Height - reach - 2);

        Paint(canvas, centerX - reach, centerY - reach, centerX + reach, centerY + reach, (x, y, rgb) =>
        {
            double distance = Math.Sqrt((x - centerX) * (x - centerX) + (y - centerY) * (y - centerY));
            double inside = Coverage(radius - distance);
            double onRim = Math.Max(0, 1 - Math.Abs(distance - radius - rim / 2) / (rim / 2 + 0.5)) * (1 - inside);
            if (inside == 0 && onRim == 0)
                return false;
            for (int c = 0; c < 3; c++)
                rgb[c] = (rgb[c] + 35 * onRim) * (1 - inside) + bottom * inside;
            return true;
        });
    }

    private static void DrawStain(RgbImage canvas, Random rng)
    {
        int shorter = Math.Min(canvas.Width, canvas.Height);
        double radius = shorter * (0.08 + 0.07 * rng.NextDouble());
        // The outline wobbles with three harmonics of the angle, so no two stains have the same shape.
        var wobble = new (int Harmonic, double Amplitude, double Phase)[3];
        int[] harmonics = [2, 3, 5];
        for (int i = 0; i < wobble.Length; i++)
            wobble[i] = (harmonics[i], 0.15 * rng.NextDouble(), 2 * Math.PI * rng.NextDouble());
        double strength = 0.8 + 0.4 * rng.NextDouble();
        double[] tint = [35 * strength, -8 * strength, -55 * strength];
        double reach = radius * 1.5;
        double centerX = Between(rng, reach + 2, canvas.Width - reach - 2);
        double centerY = Between(rng, reach + 2, canvas.Height - reach - 2);

        Paint(canvas, centerX - reach, centerY - reach, centerX + reach, centerY + reach, (x, y, rgb) =>
        {
            double dx = x - centerX, dy = y - centerY;
            double angle = Math.Atan2(dy, dx);
            double edge = radius;
            foreach (var (harmonic, amplitude, phase) in wobble)
                edge += radius * amplitude * Math.Sin(harmonic * angle + phase);
            // Full tint inside 65% of the outline, fading smoothly to none at the outline.
            double t = Math.Clamp((edge - Math.Sqrt(dx * dx + dy * dy)) / (0.35 * edge), 0, 1);
            double opacity = t * t * (3 - 2 * t);
            if (opacity == 0)
                return false;
            for (int c = 0; c < 3; c++)
                rgb[c] += tint[c] * opacity;
            return true;
        });
    }

    /// <summary>
    /// Calls <paramref name="shade"/> with the centre and RGB values of every pixel in the box, and
    /// writes the values back where it returns true.
    /// </summary>
    private static void Paint(RgbImage canvas, double left, double top, double right, double bottom, Func<double, double, double[], bool> shade)
    {
        var rgb = new double[3];
        var pixels = canvas.Pixels;
        for (int y = Math.Max(0, (int)top); y <= Math.Min(canvas.Height - 1, (int)bottom); y++)
        {
            for (int x = Math.Max(0, (int)left); x <= Math.Min(canvas.Width - 1, (int)right); x++)
            {
                int at = (y * canvas.Width + x) * 3;
                for (int c = 0; c < 3; c++)
                    rgb[c] = pixels[at + c];
                if (!shade(x + 0.5, y + 0.5, rgb))
                    continue;
                for (int c = 0; c < 3; c++)
                    pixels[at + c] = ToByte(rgb[c]);
            }
        }
    }

    /// <summary>How much of a pixel a shape covers, from how far (in pixels) the pixel centre lies inside its edge.</summary>
    private static double Coverage(double insideBy) => Math.Clamp(insideBy + 0.5, 0, 1);

    private static double DistanceToSegment(double x, double y, double ax, double ay, double bx, double by)
    {
        double dx = bx - ax, dy = by - ay;
        double along = Math.Clamp(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy), 0, 1);
        double nearestX = ax + along * dx, nearestY = ay + along * dy;
        return Math.Sqrt((x - nearestX) * (x - nearestX) + (y - nearestY) * (y - nearestY));
    }

    private static double Between(Random rng, double low, double high) => low + (high - low) * rng.NextDouble();

    private static double Symmetric(Random rng) => 2 * rng.NextDouble() - 1;

    /// <summary>A standard normal sample (Box-Muller).</summary>
    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static byte ToByte(double value) => (byte)Math.Clamp((int)Math.Round(value), 0, 255);
}
