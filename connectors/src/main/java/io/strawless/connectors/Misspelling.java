package io.strawless.connectors;

import java.util.Collection;
import java.util.Comparator;
import java.util.Map;
import org.apache.commons.text.similarity.LevenshteinDistance;

/** The key a misspelt one was meant to be, for messages that refuse it: "did you mean ...?". */
public final class Misspelling {

    /** Two edits: a typo or a dropped letter in each of two places, as in {@code topic.partitons}. */
    private static final LevenshteinDistance WITHIN_TWO_EDITS = new LevenshteinDistance(2);

    private Misspelling() {}

    /** The key of {@code known} within two edits of {@code key}, the closest (then the first by name); null if none. */
    public static String meant(String key, Collection<String> known) {
        return known.stream()
                .map(candidate -> Map.entry(candidate, WITHIN_TWO_EDITS.apply(key, candidate))) // -1 beyond two
                .filter(candidate -> candidate.getValue() >= 0)
                .min(Map.Entry.<String, Integer>comparingByValue().thenComparing(Map.Entry.comparingByKey()))
                .map(Map.Entry::getKey)
                .orElse(null);
    }
}
