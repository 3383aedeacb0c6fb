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
 */
public final class TimeArgument implements ITypeConverter<Instant> {

    @Override
    public Instant convert(String value) {
        return parse(value);
    }

    public static Instant parse(String value) {
        String text = value.trim();
        if (text.matches("\\d+")) {
            return Instant.ofEpochMilli(Long.parseLong(text));
        }
        try {
            return OffsetDateTime.parse(text).toInstant(); // also takes the Z of an instant
        } catch (DateTimeParseException notADateTime) {
            try {
                return LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant();
            } catch (DateTimeParseException notADate) {
                throw new TypeConversionException("'" + value + "' is not a time: use epoch milliseconds, an ISO-8601"
                        + " instant (2025-11-25T16:00:00Z), a date-time with offset (2025-11-25T17:00:00+01:00) or a"
                        + " date (2025-11-25, midnight UTC)");
            }
        }
    }
}
