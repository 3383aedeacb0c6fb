package io.strawless.ops.backfill;

import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A point in time on the command line: epoch milliseconds ({@code 1764086400000}), an ISO-8601 instant
 * ({@code 2025-11-25T16:00:00Z}), a date-time with offset ({@code 2025-11-25T17:00:00+01:00}) or a date
 * ({@code 2025-11-25}, midnight UTC).
 *
 * <p>Digits below {@value #SMALLEST_MILLIS} are refused: they are epoch seconds far more often than a time in
 * 1970-1973 (1764086400 read as milliseconds is 1970-01-21, and a backfill of it finds nothing or the wrong
 * records).
 */
public final class TimeArgument implements ITypeConverter<Instant> {

    /** 10^11 ms is 1973-03-03; 10^11 s lies in the year 5138. */
    static final long SMALLEST_MILLIS = 100_000_000_000L;

    @Override
    public Instant convert(String value) {
        return parse(value);
    }

    public static Instant parse(String value) {
        String text = value.trim();
        if (text.matches("\\d+")) {
            long millis;
            try {
                millis = Long.parseLong(text);
            } catch (NumberFormatException tooLong) {
                throw new TypeConversionException("'" + value + "' is too large for epoch milliseconds");
            }
            if (millis < SMALLEST_MILLIS) {
                throw new TypeConversionException("'" + value + "' looks like epoch seconds (as milliseconds it is "
                        + Instant.ofEpochMilli(millis) + "): append 000 for epoch milliseconds, or use ISO-8601"
                        + " (2025-11-25T16:00:00Z)");
            }
            return Instant.ofEpochMilli(millis);
        }
        try {
            return kafkaTime(OffsetDateTime.parse(text).toInstant(), value); // also takes the Z of an instant
        } catch (DateTimeParseException notADateTime) {
            try {
                return kafkaTime(LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant(), value);
            } catch (DateTimeParseException notADate) {
                throw new TypeConversionException("'" + value + "' is not a time: use epoch milliseconds, an ISO-8601"
                        + " instant (2025-11-25T16:00:00Z), a date-time with offset (2025-11-25T17:00:00+01:00) or a"
                        + " date (2025-11-25, midnight UTC)");
            }
        }
    }

    /**
     * {@code time}, where a Kafka timestamp can be it: epoch milliseconds from 1970 on (Kafka reads -1 and -2 in an
     * offset lookup as "latest" and "earliest", and a later time than a long holds would overflow).
     */
    private static Instant kafkaTime(Instant time, String value) {
        if (time.isBefore(Instant.EPOCH) || time.isAfter(Instant.ofEpochMilli(Long.MAX_VALUE))) {
            throw new TypeConversionException("'" + value + "' lies outside the times Kafka records hold (epoch"
                    + " milliseconds from 1970-01-01T00:00:00Z on)");
        }
        return time;
    }
}
