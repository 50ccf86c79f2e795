using PredictionService;
using RnnCore.Models;

namespace RnnCore.Service.Tests;

/// <summary>The streaming sessions' bounds, on a clock the test moves: at most MaxSessions open, idle ones expired and reclaimed.</summary>
public sealed class StreamSessionsTests
{
    [Fact]
    public async Task Sessions_are_bounded_and_idle_ones_are_expired()
    {
        var clock = new ManualClock();
        var model = new RecurrentModel<float>(new RecurrentModelOptions(2, 4, 3) { Cell = RecurrentCellKind.Gru, Seed = 1 });
        using var sessions = new StreamSessions(model, maxSessions: 2, idleTimeout: TimeSpan.FromMinutes(1), clock);
        long first = sessions.Open()!.Value, second = sessions.Open()!.Value;
        sessions.Open().Should().BeNull("both slots hold sessions that are not idle");

        clock.Advance(TimeSpan.FromSeconds(40));
        (await sessions.StepAsync(second, [0.5f, -0.25f])).Status.Should().Be(200);
        clock.Advance(TimeSpan.FromSeconds(40));

        // The first session has been idle for 80 s, the second for 40 s: a new session takes the first one's slot.
        long third = sessions.Open()!.Value;
        (await sessions.StepAsync(first, [0.5f, -0.25f])).Status.Should().Be(404);
        StepOutcome fromZero = await sessions.StepAsync(third, [0.5f, -0.25f]);
        fromZero.Status.Should().Be(200);
        fromZero.Output.Should().Equal(model.OpenStreams(1).Step(0, [0.5f, -0.25f]), "a reclaimed slot starts from the zero state");
        sessions.Open().Should().BeNull();

        // A session idle for longer than the timeout is gone even before its slot is needed.
        clock.Advance(TimeSpan.FromSeconds(61));
        (await sessions.StepAsync(third, [0.5f, -0.25f])).Status.Should().Be(404);
        sessions.Close(second).Should().BeFalse("it expired");
        sessions.OpenCount.Should().Be(0);

        long fourth = sessions.Open()!.Value;
        StepOutcome bad = await sessions.StepAsync(fourth, [1f]);
        bad.Status.Should().Be(400);
        bad.Error.Should().Contain("2 finite numbers").And.Contain("has 1");
        sessions.Close(fourth).Should().BeTrue();
        sessions.Close(fourth).Should().BeFalse();
    }

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = TimeSpan.TicksPerDay;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
