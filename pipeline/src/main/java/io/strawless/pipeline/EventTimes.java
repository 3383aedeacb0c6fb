package io.strawless.pipeline;

/** Event-time arithmetic that stops at the end of time ({@code Long.MAX_VALUE}), where a drain puts the watermark. */
public final class EventTimes {

    private EventTimes() {}

    /**
     * {@code time + duration} for a duration of at least 0, or the end of time where the sum would pass it: what is due
     * after the end of time is due at it, not at a time that wrapped around into the distant past.
     */
    public static long plus(long time, long duration) {
        return time > Long.MAX_VALUE - duration ? Long.MAX_VALUE : time + duration;
    }
}
