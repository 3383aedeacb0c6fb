package io.strawless.ops.backfill;

import java.time.Duration;
import org.apache.flink.util.TimeUtils;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A topic retention on the command line: a duration in the form {@code -D topics.retention} takes ({@code 30d},
 * {@code 12h}, {@code 90 min}), or {@code forever} ({@link Backfill#FOREVER}, Kafka's retention.ms -1).
 */
public final class RetentionArgument implements ITypeConverter<Duration> {

    @Override
    public Duration convert(String value) {
        if (value.trim().equalsIgnoreCase("forever")) {
            return Backfill.FOREVER;
        }
        Duration retention;
        try {
            retention = TimeUtils.parseDuration(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException("'" + value + "' is neither a duration (e.g. 30d, 12h) nor 'forever'");
        }
        if (retention.toMillis() <= 0) {
            throw new TypeConversionException("'" + value + "' is no retention: give a positive duration or 'forever'");
        }
        return retention;
    }

    /** {@code forever}, or {@code for} and the duration as Flink writes one ({@code for 7 d}). */
    static String describe(Duration retention) {
        return retention.isNegative() ? "forever" : "for " + TimeUtils.formatWithHighestUnit(retention);
    }
}
