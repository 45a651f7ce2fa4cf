using System.Globalization;
using L3.Datasets;
using Spectre.Console;

namespace L3.Cli.Commands;

/// <summary>
/// Shows a conversion's progress on stderr: a live Spectre.Console bar on a terminal (images/s,
/// MB/s, failures, ETA), a plain line every 10 s when stderr is a file or a pipe (logs of batch
/// jobs), nothing with --quiet. Ctrl-C and SIGTERM stop the conversion cleanly.
/// </summary>
internal static class ConvertProgressView
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(10);

    public static ConvertResult Run(ImageSource images, string destination, ConvertOptions options, bool quiet)
    {
        using var cancel = DatasetCommands.CancelOnSignals(out var registrations);
        using (registrations)
        {
            if (quiet) return DatasetConverter.Convert(images, destination, options, cancel.Token);
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            return console.Profile.Capabilities.Interactive && !Console.IsErrorRedirected
                ? RunLive(console, images, destination, options, cancel.Token)
                : RunPlain(images, destination, options, cancel.Token);
        }
    }

    private static ConvertResult RunLive(IAnsiConsole console, ImageSource images, string destination, ConvertOptions options, CancellationToken cancel)
    {
        ConvertResult? result = null;
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                     new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var task = context.AddTask("listing…", maxValue: 1);
                result = DatasetConverter.Convert(images, destination, options with
                {
                    Progress = p =>
                    {
                        task.MaxValue = Math.Max(1, p.ImagesTotal);
                        task.Value = p.Images;
                        task.Description = Markup.Escape(Describe(p));
                    },
                }, cancel);
                task.Value = task.MaxValue;
            });
        return result!;
    }

    private static ConvertResult RunPlain(ImageSource images, string destination, ConvertOptions options, CancellationToken cancel)
    {
        var next = PlainInterval;
        return DatasetConverter.Convert(images, destination, options with
        {
            Progress = p =>
            {
                if (p.Elapsed < next) return;
                next = p.Elapsed + PlainInterval;
                string eta = p.Images > 0 ? FormatTime(p.Elapsed * ((double)(p.ImagesTotal - p.Images) / p.Images)) : "?";
                Console.Error.WriteLine($"l3 convert: {Describe(p)}, ETA {eta}");
            },
        }, cancel);
    }

    private static string Describe(ConvertProgress p)
    {
        double seconds = Math.Max(p.Elapsed.TotalSeconds, 1e-9);
        return FormattableString.Invariant(
            $"{p.Images}/{p.ImagesTotal} images, shard {p.Shards}/{p.ShardsTotal}, {p.Images / seconds:F1} images/s, {p.SourceBytes / 1e6 / seconds:F1} MB/s, {p.Failures} failed");
    }

    private static string FormatTime(TimeSpan t) =>
        t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
}
