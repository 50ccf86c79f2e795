using System.Diagnostics;
using Spectre.Console;

namespace RnnCore.Samples;

/// <summary>What a training loop tells the user while it runs: how far it is, and lines of text (generated samples).</summary>
public interface IProgressSink
{
    /// <summary>Sets the number of finished units of work and the status text (epoch, loss, speed).</summary>
    void Report(long done, string status);

    /// <summary>Writes a line of text without disturbing the progress display.</summary>
    void WriteLine(string text);
}

/// <summary>
/// A live Spectre.Console progress bar (status, bar, percentage, elapsed time, ETA) when the output is an interactive
/// terminal; otherwise (CI=true, output redirected, no stdin) plain lines, at most one per 5 % of the work, so that a log
/// neither hangs on terminal queries nor fills with redraws.
/// </summary>
public static class TrainingProgress
{
    /// <summary>True when a live display can be drawn: a terminal on both ends and not CI.</summary>
    public static bool IsInteractive =>
        AnsiConsole.Profile.Capabilities.Interactive
        && !Console.IsOutputRedirected
        && !Console.IsInputRedirected
        && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Runs <paramref name="body"/> with a progress display for <paramref name="total"/> units of work.</summary>
    public static void Run(string title, long total, Action<IProgressSink> body)
    {
        if (!IsInteractive)
        {
            Console.WriteLine(title);
            body(new PlainSink(total));
            return;
        }

        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(
                new TaskDescriptionColumn { Alignment = Justify.Left },
                new ProgressBarColumn(),
                new PercentageColumn(),
                new ElapsedTimeColumn(),
                new RemainingTimeColumn())
            .Start(context =>
            {
                ProgressTask task = context.AddTask(Markup.Escape(title), maxValue: Math.Max(1, total));
                body(new LiveSink(task));
                task.Value = task.MaxValue;
            });
    }

    private sealed class LiveSink(ProgressTask task) : IProgressSink
    {
        public void Report(long done, string status)
        {
            task.Description = Markup.Escape(status);
            task.Value = done;
        }

        // Spectre draws writes made during a live display above the bar, but counts each write as the lines it holds:
        // a line that the terminal wraps would leave its tail under the redrawn bar. So lines go one at a time, cut to
        // the terminal's width.
        public void WriteLine(string text)
        {
            int width = Math.Max(20, AnsiConsole.Profile.Width - 2);
            foreach (string line in text.Split('\n'))
            {
                for (int start = 0; start == 0 || start < line.Length; start += width)
                {
                    AnsiConsole.WriteLine(line.Substring(start, Math.Min(width, line.Length - start)));
                }
            }
        }
    }

    private sealed class PlainSink(long total) : IProgressSink
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _nextLine;

        public void Report(long done, string status)
        {
            if (done < _nextLine && done < total)
            {
                return;
            }

            _nextLine = done + Math.Max(1, total / 20);
            double seconds = _clock.Elapsed.TotalSeconds;
            string eta = done > 0 && done < total
                ? TimeSpan.FromSeconds(seconds / done * (total - done)).ToString(@"hh\:mm\:ss")
                : "--:--:--";
            Console.WriteLine($"[{done}/{total}] {status}  elapsed {TimeSpan.FromSeconds(seconds):hh\\:mm\\:ss}  ETA {eta}");
        }

        public void WriteLine(string text) => Console.WriteLine(text);
    }
}
